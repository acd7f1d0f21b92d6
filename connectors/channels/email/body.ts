import EmailReplyParser from 'email-reply-parser';

/**
 * What the customer wrote this time. In a follow-up the quoted history (our earlier reply and
 * theirs) and the signature are cut by email-reply-parser, Crisp's port of GitHub's parser.
 */
export function replyText(text: string): string {
  const fragments = new EmailReplyParser().read(text).getFragments();
  const visible = fragments.filter((f) => !f.isHidden());
  if (visible.length === 0) return text;
  let out = visible.map((f) => f.getContent()).join('\n').trim();
  // The parser knows attribution lines ("On … wrote:") in a dozen languages but not all of ours
  // (Russian Gmail writes "пн, 8 янв. 2024 г. в 10:00, Support <…>:"). Whatever language: a
  // visible text whose last line ends in ":" right before the hidden quote introduced that quote.
  const hiddenQuoteFollows = fragments.indexOf(visible.at(-1)!) < fragments.length - 1;
  if (hiddenQuoteFollows) out = dropAttribution(out);
  // A reply that is only a quote (a forward without a word) keeps its text rather than going empty.
  return out.length > 0 ? out : text;
}

function dropAttribution(text: string): string {
  const lines = text.split('\n');
  const last = lines.at(-1)?.trim() ?? '';
  if (lines.length < 2 || !last.endsWith(':') || !/[@<]|\d/.test(last)) return text;
  // Gmail wraps a long attribution before the address: "…, Acme Support <" / "support@acme.com>:".
  const cut = /^[^\s@]+@\S+>:$/.test(last) && lines.at(-2)?.trimEnd().endsWith('<') ? 2 : 1;
  return lines.slice(0, -cut).join('\n').trim();
}
