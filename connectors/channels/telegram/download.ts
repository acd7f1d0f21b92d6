import type { Api } from 'grammy';
import { FileTooLarge, guardedFetch } from '../../../src/kit/fetch/guarded-fetch.ts';
import type { FetchedFile } from '../../../src/core/connector.ts';
import { DeliveryError, errorFromResponse } from '../../../src/core/errors.ts';
import type { AttachmentRef } from '../../../src/core/message.ts';
import { redactToken, telegramError } from './errors.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { tooLargeReason } from './normalize.ts';

export interface DownloadDeps {
  api: Api;
  token: string;
  apiRoot: string;
  maxFileBytes: number;
  timeoutMs?: number;
}

/**
 * Resolves a file_id to bytes: getFile, then the file endpoint. The download URL holds the
 * token, so it lives only in this function: never logged, stored or put in an error.
 * Name and MIME come from the ref (the message), because Telegram's file_path does not keep them.
 */
export async function downloadAttachment(deps: DownloadDeps, ref: AttachmentRef): Promise<FetchedFile> {
  // Our own refusal: no `detail`, which is reserved for the remote side's words.
  const refuse = (reason: string) =>
    new DeliveryError(`"${ref.name}" cannot be fetched from Telegram: ${reason}`, { kind: 'permanent' });
  if (ref.unavailable) throw refuse(ref.unavailable);
  if (ref.size !== undefined && ref.size > deps.maxFileBytes) throw refuse(tooLargeReason(deps.maxFileBytes));

  let file;
  try {
    file = await deps.api.getFile(ref.source);
  } catch (err) {
    throw telegramError(`getFile for "${ref.name}"`, err, deps.token);
  }
  if (file.file_size !== undefined && file.file_size > deps.maxFileBytes) {
    throw refuse(`${formatBytes(file.file_size)}, ${tooLargeReason(deps.maxFileBytes)}`);
  }
  if (!file.file_path) throw refuse('Telegram returned no file_path for it');

  const what = `download of "${ref.name}"`;
  // The link holds the bot token: errors name the file, never the URL.
  const root = new URL(deps.apiRoot);
  const res = await guardedFetch(`${deps.apiRoot}/file/bot${deps.token}/${file.file_path}`, {
    maxBytes: deps.maxFileBytes,
    timeoutMs: deps.timeoutMs ?? 120_000,
    trustedOrigins: [root.origin],
    hosts: [root.hostname],
    label: what,
  }).catch((err: unknown) => {
    if (err instanceof FileTooLarge) throw refuse(tooLargeReason(deps.maxFileBytes));
    throw err;
  });
  if (res.status < 200 || res.status >= 300) {
    const error = errorFromResponse(what, res.status, redactToken(res.body.toString('utf8'), deps.token), res.headers);
    // A file path expires after an hour; a retry calls getFile again and gets a fresh one.
    if (res.status === 404) throw new DeliveryError(error.message, { kind: 'retry', status: 404, detail: error.detail });
    throw error;
  }
  return { name: ref.name, mime: ref.mime, data: res.body };
}
