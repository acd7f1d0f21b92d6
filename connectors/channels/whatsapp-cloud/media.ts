import { z } from 'zod';
import { FileTooLarge } from '../../../src/kit/fetch/guarded-fetch.ts';
import type { FetchedFile } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { AttachmentRef } from '../../../src/core/message.ts';
import type { GraphApi } from './graph.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';

const MediaUrl = z.looseObject({
  url: z.string().min(1),
  mime_type: z.string().optional(),
  // Meta sends the size as a string; some answers have a number.
  file_size: z.union([z.string(), z.number()]).optional(),
});

/**
 * Media id → short-lived URL → bytes, with the token on both calls. Done at delivery time:
 * webhook media ids live 7 days, the URL about 5 minutes, so the URL is never stored.
 * Our refusals (too big) carry no `detail`; Meta's answers keep theirs.
 */
export async function downloadMedia(api: GraphApi, ref: AttachmentRef, maxFileBytes: number): Promise<FetchedFile> {
  const refuse = (reason: string) => new DeliveryError(`"${ref.name}" was not downloaded from WhatsApp: ${reason}`, { kind: 'permanent' });
  if (ref.unavailable) throw refuse(ref.unavailable);

  const info = MediaUrl.safeParse(await api.getJson(`media lookup for "${ref.name}"`, encodeURIComponent(ref.source)));
  if (!info.success) throw new DeliveryError(`media lookup for "${ref.name}": the Graph API answer has no url`, { kind: 'permanent', detail: JSON.stringify(info.error.issues) });
  const size = Number(info.data.file_size);
  if (Number.isFinite(size) && size > maxFileBytes) throw refuse(`it is ${formatBytes(size)}, over the limit of ${formatBytes(maxFileBytes)} (maxFileBytes)`);

  const data = await api.download(`media download of "${ref.name}"`, info.data.url, maxFileBytes).catch((err: unknown) => {
    throw err instanceof FileTooLarge ? refuse(`it is over the limit of ${formatBytes(maxFileBytes)} (maxFileBytes)`) : err;
  });
  return { name: ref.name, mime: info.data.mime_type ?? ref.mime, data };
}

const Uploaded = z.looseObject({ id: z.string().min(1) });

/** Uploads a file to Meta (`POST /{phone-number-id}/media`) and returns its media id. */
export async function uploadMedia(api: GraphApi, phoneNumberId: string, file: FetchedFile): Promise<string> {
  const form = new FormData();
  form.set('messaging_product', 'whatsapp');
  form.set('type', file.mime);
  form.set('file', new Blob([new Uint8Array(file.data)], { type: file.mime }), file.name);
  const answer = Uploaded.safeParse(await api.postForm(`upload of "${file.name}"`, `${phoneNumberId}/media`, form));
  if (!answer.success) throw new DeliveryError(`upload of "${file.name}": the Graph API answer has no media id`, { kind: 'retry', ambiguous: true });
  return answer.data.id;
}
