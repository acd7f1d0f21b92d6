/**
 * A size for people: `51 MB`, `1.5 MB`, `2 KB`, `500 bytes`. One wording for every note an agent
 * or a customer reads. In the core because the pipeline's notes use it; connectors import it from here.
 */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / 1024 / 1024).toFixed(1))} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
