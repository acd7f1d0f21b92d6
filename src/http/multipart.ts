import { Busboy } from '@fastify/busboy';
import type { UploadedFile } from '../core/connector.ts';
import { addField, emptyFields, type FlatFields, type Parsed } from '../core/safe-parse.ts';

/** Counts a multipart body may hold; its bytes are already capped by the route's limit. */
const LIMITS = { parts: 220, files: 20, fields: 200, fieldNameSize: 200, headerPairs: 20 };

/**
 * Parses a `multipart/form-data` body that was already read (up to the route's limit) and let
 * through by the route's guard. File data are views of `raw` where busboy hands out one piece,
 * so a parsed upload costs little beyond the bytes already held.
 */
export function parseMultipart(raw: Buffer, contentType: string): Promise<Parsed<{ fields: FlatFields; files: UploadedFile[] }>> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Parsed<{ fields: FlatFields; files: UploadedFile[] }>) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const refuse = (field: string, error: string) => finish({ ok: false, field, error });
    let busboy;
    try {
      busboy = Busboy({ headers: { 'content-type': contentType }, limits: { ...LIMITS, fieldSize: raw.length } });
    } catch (err) {
      refuse('content-type', `is not a usable multipart type: ${(err as Error).message}`);
      return;
    }
    const fields = emptyFields();
    const files: UploadedFile[] = [];
    busboy.on('field', (name, value) => {
      const refused = addField(fields, name, value);
      if (refused && !refused.ok) refuse(refused.field, refused.error);
    });
    busboy.on('file', (name, stream, filename, _encoding, mime) => {
      const refused = addField(emptyFields(), name, '');
      if (refused && !refused.ok) {
        stream.resume();
        refuse(refused.field, refused.error);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        files.push({ field: name, filename: filename ?? '', mime: mime ?? 'application/octet-stream', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      });
    });
    busboy.on('partsLimit', () => refuse('body', `has more than ${LIMITS.parts} parts`));
    busboy.on('filesLimit', () => refuse('body', `has more than ${LIMITS.files} files`));
    busboy.on('fieldsLimit', () => refuse('body', `has more than ${LIMITS.fields} fields`));
    busboy.on('error', (err: unknown) => refuse('body', `is not valid multipart: ${err instanceof Error ? err.message : String(err)}`));
    busboy.on('finish', () => finish({ ok: true, value: { fields, files } }));
    busboy.end(raw);
  });
}
