/**
 * What an error means, said plainly, for the console. The verbatim text is always shown next
 * to it; this is the first line a person reads.
 */
const BY_CODE: [RegExp, string][] = [
  [/ECONNREFUSED|connection refused/i, 'connection refused: nothing answers at that address'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo/i, 'the host name could not be resolved'],
  [/ETIMEDOUT|timed? ?out|AbortError|aborted due to timeout/i, 'no answer in time'],
  [/ECONNRESET|socket hang up|EPIPE|closed the connection/i, 'the connection was dropped'],
  [/certificate|self[- ]signed|TLS|SSL/i, 'a TLS (certificate) problem'],
  [/AUTHENTICATIONFAILED|authentication failed|invalid credentials|Invalid login|Unauthorized|rejected the credentials|token was rejected|\(40[13]\)/i, 'the credentials were refused'],
  [/fetch failed/i, 'could not connect'],
];

export function plainWords(text: string, status?: number): string {
  if (status === 401 || status === 403) return `the credentials were refused (HTTP ${status})`;
  if (status === 429) return 'rate limited: asked to slow down (HTTP 429)';
  if (status === 404) return 'not found (HTTP 404): a wrong address or id';
  if (status !== undefined && status >= 500) return `the server failed (HTTP ${status}); usually temporary`;
  if (status !== undefined && status >= 400) return `refused as invalid (HTTP ${status})`;
  for (const [pattern, words] of BY_CODE) if (pattern.test(text)) return words;
  return 'an error';
}
