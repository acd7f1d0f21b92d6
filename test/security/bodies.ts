import type { Encoded } from './gateway.ts';

/** Hostile bodies shared by the security suite and the fuzz script. */

export function multipart(fields: [string, string][], files: { field: string; filename: string; data: Buffer }[] = [], boundary = 'xBoUnDaRyx'): Encoded {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\ncontent-type: application/octet-stream\r\n\r\n`), f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, raw: Buffer.concat(parts) };
}

export const formBody = (pairs: [string, string][]): Encoded => ({
  contentType: 'application/x-www-form-urlencoded',
  // URLSearchParams, not encodeURIComponent: a lone surrogate becomes U+FFFD instead of throwing.
  raw: Buffer.from(new URLSearchParams(pairs).toString()),
});

/** Keys that would write to Object.prototype through a naive parser or merge, as JSON, form and multipart bodies. */
export function pollutionBodies(sample: Record<string, unknown>): { label: string; body: unknown; encoded?: Encoded }[] {
  const deep = (key: string) => ({ ...sample, nested: { [key]: { polluted: 'yes', isAdmin: true } } });
  const jsonText = (text: string): Encoded => ({ contentType: 'application/json', raw: Buffer.from(text) });
  const sampleText = JSON.stringify(sample).slice(1, -1);
  return [
    // JSON.parse makes __proto__ an own key; a later merge would not: both are refused.
    { label: 'json __proto__ at the top', body: undefined, encoded: jsonText(`{"__proto__":{"polluted":"yes"},${sampleText}}`) },
    { label: 'json __proto__ nested', body: undefined, encoded: jsonText(`{${sampleText},"nested":{"a":[{"__proto__":{"polluted":"yes"}}]}}`) },
    { label: 'json constructor.prototype', body: deep('constructor') },
    { label: 'json prototype', body: { ...sample, prototype: { polluted: 'yes' } } },
    { label: 'form __proto__[x]', body: undefined, encoded: formBody([['__proto__[polluted]', 'yes'], ['comment[ticket_id]', '1']]) },
    { label: 'form __proto__.x', body: undefined, encoded: formBody([['__proto__.polluted', 'yes']]) },
    { label: 'form constructor[prototype][x]', body: undefined, encoded: formBody([['constructor[prototype][polluted]', 'yes']]) },
    { label: 'form comment[__proto__][x]', body: undefined, encoded: formBody([['comment[__proto__][polluted]', 'yes'], ['secret', 'x']]) },
    { label: 'multipart __proto__ field', body: undefined, encoded: multipart([['__proto__[polluted]', 'yes'], ['message', 'hi']]) },
    { label: 'multipart constructor file', body: undefined, encoded: multipart([['message', 'hi']], [{ field: 'constructor[prototype]', filename: 'x.txt', data: Buffer.from('x') }]) },
  ];
}

const MB = 1_000_000;
/** Strings that make a super-linear pattern or a careless copy pay: 1 MB each (400,000 × Ж is 800 KB of UTF-8). */
export const HOSTILE_STRINGS: Record<string, string> = {
  cyrillic: 'Ж'.repeat(400_000),
  letters: 'a'.repeat(MB),
  digitGroups: '4111 '.repeat(MB / 5),
  atSigns: 'a@'.repeat(MB / 2),
  spaces: `x${' '.repeat(MB - 2)}x`,
  brackets: '[{'.repeat(MB / 2),
};
