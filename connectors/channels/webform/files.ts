import type { UploadedFile } from '../../../src/core/connector.ts';
import type { FilesOptions } from './options.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';

/** Per-file limits (count, size, type); the HTTP layer already capped the whole body. */

export interface FileCheck {
  files: UploadedFile[];
  /** Keyed by the file input's field name; each message names the file. */
  errors: Record<string, string>;
}

export function checkFiles(uploaded: UploadedFile[], limits: FilesOptions): FileCheck {
  // Browsers send an empty part for a file input left blank.
  const files = uploaded
    .filter((f) => f.filename !== '' || f.data.length > 0)
    .map((f, i) => ({ ...f, filename: safeFilename(f.filename, i) }));
  const errors: Record<string, string> = {};
  const add = (field: string, message: string) => {
    const key = field || 'files';
    errors[key] = errors[key] ? `${errors[key]}; ${message}` : message;
  };

  if (files.length > limits.maxFiles) {
    const extra = files.slice(limits.maxFiles);
    add(
      extra[0]?.field ?? '',
      limits.maxFiles === 0
        ? `files are not accepted on this form (${extra.map((f) => f.filename).join(', ')})`
        : `too many files: at most ${limits.maxFiles} accepted (not accepted: ${extra.map((f) => f.filename).join(', ')})`,
    );
  }
  for (const f of files.slice(0, limits.maxFiles)) {
    if (f.data.length > limits.maxFileBytes) {
      add(f.field, `${f.filename} is ${formatBytes(f.data.length)}; the limit is ${formatBytes(limits.maxFileBytes)} per file`);
    }
    if (limits.allowedTypes && !limits.allowedTypes.some((p) => mimeMatches(p, f.mime))) {
      add(f.field, `${f.filename} is ${baseMime(f.mime) || 'of unknown type'}; accepted: ${limits.allowedTypes.join(', ')}`);
    }
  }
  return { files, errors };
}

export function mimeMatches(pattern: string, mime: string): boolean {
  const p = pattern.toLowerCase();
  const m = baseMime(mime);
  if (p === '*' || p === '*/*') return true;
  if (p.endsWith('/*')) return m.startsWith(p.slice(0, -1));
  return m === p;
}

function baseMime(mime: string): string {
  return (mime.split(';')[0] ?? '').trim().toLowerCase();
}

/** Drops any client path (old browsers send C:\fakepath\…) and control characters. */
export function safeFilename(name: string, index: number): string {
  const base = (name.split(/[\\/]/).pop() ?? '').replace(/[\p{Cc}]/gu, '').trim().slice(0, 200);
  return base || `attachment-${index + 1}`;
}
