import type { Replies } from './schema.ts';

/**
 * The reply text for a customer's language: the exact language, then its primary subtag
 * (`uz-Cyrl` → `uz`), then `default`, then `en`, then the first entry.
 */
export function pickReply(replies: Replies, name: string, language: string): string | undefined {
  if (!Object.hasOwn(replies, name)) return undefined;
  const byLanguage = replies[name] ?? {};
  const wanted = [language, language.split(/[-_]/u)[0] ?? '', 'default', 'en'];
  for (const key of wanted) {
    if (key && Object.hasOwn(byLanguage, key)) return byLanguage[key];
  }
  return Object.values(byLanguage)[0];
}
