import type { Attachment } from 'mailparser';
import type { BlobStore, FetchedFile } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { AttachmentRef } from '../../../src/core/message.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';

/**
 * Attachments and inline images are copied into the gateway's blob store when the mail is
 * taken in (the mail may be moved or deleted before delivery), and freed once the helpdesk has
 * them. One over the size limit is not copied: its ref says why, which the agents get as a note.
 */

const BLOB = 'blob:';

export async function keepAttachments(
  attachments: Attachment[],
  deps: { blobs: BlobStore; maxBytes: number },
): Promise<AttachmentRef[]> {
  const refs: AttachmentRef[] = [];
  for (const [index, a] of attachments.entries()) {
    const name = attachmentName(a, index);
    const mime = a.contentType || 'application/octet-stream';
    const size = a.content.length;
    if (size > deps.maxBytes) {
      refs.push({
        name,
        mime,
        size,
        source: 'not-kept',
        unavailable: `it is larger than this mailbox's limit of ${formatBytes(deps.maxBytes)}; open the email in the mailbox to get it`,
      });
      continue;
    }
    refs.push({ name, mime, size, source: BLOB + (await deps.blobs.put(a.content)) });
  }
  return refs;
}

export async function fetchKept(blobs: BlobStore, ref: AttachmentRef): Promise<FetchedFile> {
  const data = ref.source.startsWith(BLOB) ? await blobs.get(ref.source.slice(BLOB.length)) : undefined;
  if (!data) {
    throw new DeliveryError(`attachment "${ref.name}" is no longer stored by the gateway`, { kind: 'permanent' });
  }
  return { name: ref.name, mime: ref.mime, data };
}

export async function releaseKept(blobs: BlobStore, refs: AttachmentRef[]): Promise<void> {
  for (const ref of refs) {
    if (ref.source.startsWith(BLOB)) await blobs.delete(ref.source.slice(BLOB.length));
  }
}

function attachmentName(a: Attachment, index: number): string {
  // eslint-disable-next-line no-control-regex
  const given = (a.filename ?? '').replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  if (given) return given.slice(0, 200);
  const ext = a.contentType?.split('/')[1]?.split(/[;+]/)[0]?.replace(/[^a-z0-9]/gi, '') ?? 'bin';
  return `${a.related || a.contentDisposition === 'inline' ? 'inline' : 'attachment'}-${index + 1}.${ext || 'bin'}`;
}
