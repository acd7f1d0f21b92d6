import { convert, type HtmlToTextOptions } from 'html-to-text';

/**
 * HTML as the plain text a messenger or a ticket shows: paragraphs, line breaks and lists kept,
 * a link's target written after its text ("здесь (https://…)"), entities decoded (&mdash; → —),
 * and no hard wrap (a chat wraps lines itself; a wrapped line breaks mid-sentence). Used for
 * agents' replies from every helpdesk that sends HTML, and for HTML-only email.
 */
const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    { selector: 'a', options: { linkBrackets: ['(', ')'], hideLinkHrefIfSameAsText: true } },
    // Inline images travel as attachments; their <img> says nothing in text.
    { selector: 'img', format: 'skip' },
    ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((h) => ({ selector: h, options: { uppercase: false } })),
    { selector: 'table', options: { uppercaseHeaderCells: false } },
  ],
};

export function htmlToPlainText(html: string): string {
  return convert(html, OPTIONS).replace(/\n{3,}/g, '\n\n').trim();
}
