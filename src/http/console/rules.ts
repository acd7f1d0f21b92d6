import { z } from 'zod';
import { facts, hidden, html } from './page.ts';

/**
 * The rule tester: a sample text on a channel, in a language, and what the rules in force
 * would decide, with each rule's reason. Fields the tester adds later (model scores) are shown
 * under "More" as they come, so the page needs no change for them.
 */

export const RulesForm = z.object({
  channel: z.string().min(1, 'pick a channel').max(200),
  text: z.string().min(1, 'type a message to test').max(20_000, 'at most 20,000 characters'),
  language: z.enum(['', 'ru', 'uz', 'en']).default(''),
  followUp: z.enum(['', 'on']).default(''),
});
export type RulesForm = z.infer<typeof RulesForm>;

export interface TesterAnswer {
  decision: Record<string, unknown> & { firedRules?: string[] };
  trace: { rule: string; fired: boolean; why?: string }[];
  [more: string]: unknown;
}

export function rulesForm(o: { channels: string[]; values?: Partial<RulesForm>; csrf?: string; error?: string }): string {
  const v = o.values ?? {};
  return html`<form method="post" action="/admin/rules">
!${hidden('_csrf', o.csrf ?? '')}
!${o.error ? html`<p class="problem" role="alert">${o.error}</p>` : ''}
<label for="r-channel">Channel</label>
<select id="r-channel" name="channel">!${o.channels.map((c) => html`<option value="${c}"!${c === v.channel ? ' selected' : ''}>${c}</option>`)}</select>
<label for="r-text">Message</label>
<textarea id="r-text" name="text" maxlength="20000" required>${v.text ?? ''}</textarea>
<label for="r-language">Customer's language</label>
<select id="r-language" name="language">
!${[['', 'detect from the text'], ['ru', 'Russian'], ['uz', 'Uzbek'], ['en', 'English']].map(([code, label]) => html`<option value="${code}"!${code === (v.language ?? '') ? ' selected' : ''}>${label}</option>`)}
</select>
<label><input type="checkbox" name="followUp" value="on"!${v.followUp === 'on' ? ' checked' : ''}> A follow-up (not the first message of the conversation)</label>
<p><button type="submit">Test the rules</button></p>
</form>`;
}

export function testerResult(answer: TesterAnswer): string {
  const { decision, trace, ...more } = answer;
  const { firedRules: _fired, ...shown } = decision;
  const fired = trace.filter((t) => t.fired).map((t) => t.rule);
  return html`<section id="result" aria-live="polite">
<h2>Decision</h2>
<p>${fired.length > 0 ? `Rules that fired: ${fired.join(', ')}` : 'No rule fired: the helpdesk\'s defaults apply.'}</p>
!${facts(Object.fromEntries(Object.entries(shown).map(([k, value]) => [k, show(value)])))}
!${Object.keys(more).length > 0 ? html`<h2>More</h2>!${Object.entries(more).map(([k, value]) => html`<h3>${k}</h3>!${block(value)}`)}` : ''}
<h2>Each rule</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Rule</th><th scope="col">Fired</th><th scope="col">Why</th></tr></thead>
<tbody>!${trace.map((t) => html`<tr data-rule="${t.rule}"><th scope="row">${t.rule}</th><td>${t.fired ? 'yes' : 'no'}</td><td>${t.why ?? ''}</td></tr>`)}</tbody>
</table></div>
</section>`;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ');
  return String(value);
}

/** A value of unknown shape: facts for a flat record, otherwise its JSON. */
function block(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v !== 'object' || v === null)) {
    return facts(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, show(v)])));
  }
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}
