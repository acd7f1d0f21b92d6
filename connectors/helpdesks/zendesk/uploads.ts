import { z } from 'zod';
import type { FetchedFile, KeyValueStore } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { UploadResponse } from './api.ts';
import { summarizeZendeskBody } from './errors.ts';
import type { ZendeskHttp } from './http.ts';

export interface UploadResult {
  /** Upload tokens for `comment.uploads` (one token holds every file). */
  tokens: string[];
  /** Files Zendesk refused, said for the agent's private note. */
  notes: string[];
}

const RememberedUploads = z.object({ tokens: z.array(z.string()), notes: z.array(z.string()), at: z.number() });

async function remembered(kv: KeyValueStore, key: string): Promise<z.infer<typeof RememberedUploads> | undefined> {
  const raw = await kv.get(`zendesk:uploads:${key}`);
  if (!raw) return undefined;
  try {
    const parsed = RememberedUploads.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Zendesk keeps unused uploads for 60 minutes; reuse tokens younger than this. */
const TOKEN_REUSE_MS = 50 * 60_000;

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'video/mp4': 'mp4',
  'text/plain': 'txt',
};

/** Zendesk checks that the file extension matches the type; channels often name files without one. */
export function uploadName(file: FetchedFile): string {
  if (/\.[A-Za-z0-9]{1,8}$/.test(file.name)) return file.name;
  const ext = EXTENSIONS[file.mime.toLowerCase()];
  return ext ? `${file.name}.${ext}` : file.name;
}

function refusedByZendesk(err: unknown): err is DeliveryError {
  return err instanceof DeliveryError && err.kind === 'permanent' && err.status !== 401 && err.status !== 403;
}

/**
 * Uploads the files before the comment that carries them. The tokens are remembered under the
 * delivery's idempotency key so a retried create sends the same body (Idempotency-Key requires it)
 * and nothing is uploaded twice.
 */
export async function uploadFiles(
  http: ZendeskHttp,
  files: FetchedFile[],
  cache: { kv: KeyValueStore; key: string },
): Promise<UploadResult> {
  if (files.length === 0) return { tokens: [], notes: [] };
  const saved = await remembered(cache.kv, cache.key);
  if (saved && Date.now() - saved.at < TOKEN_REUSE_MS) return { tokens: saved.tokens, notes: saved.notes };
  let token: string | undefined;
  const notes: string[] = [];
  for (const file of files) {
    const filename = uploadName(file);
    try {
      const { data } = await http.request(`upload "${filename}"`, 'POST', '/uploads', UploadResponse, {
        query: { filename, token },
        body: file.data,
        contentType: file.mime,
      });
      token = data.upload.token;
    } catch (err) {
      // A file Zendesk will never take (type not allowed, too large) must not hold the message back.
      if (!refusedByZendesk(err)) throw err;
      notes.push(`Attachment "${file.name}" (${file.mime}, ${file.data.length} bytes) was not attached: Zendesk said ${summarizeZendeskBody(err.detail ?? '') || err.message}`);
    }
  }
  const result = { tokens: token ? [token] : [], notes };
  await cache.kv.set(`zendesk:uploads:${cache.key}`, JSON.stringify({ ...result, at: Date.now() }), { ttlMs: TOKEN_REUSE_MS });
  return result;
}

export async function forgetUploads(kv: KeyValueStore, key: string, files: FetchedFile[]): Promise<void> {
  // Only a delivery with files remembered any (a store round trip saved per plain message).
  if (files.length === 0) return;
  await kv.delete(`zendesk:uploads:${key}`);
}

/** Notes about refused files from an earlier attempt, when its uploads are still remembered. */
export async function rememberedUploadNotes(kv: KeyValueStore, key: string): Promise<string[]> {
  return (await remembered(kv, key))?.notes ?? [];
}
