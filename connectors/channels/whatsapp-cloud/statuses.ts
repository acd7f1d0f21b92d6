import type { ChannelContext, JsonValue, KeyValueStore } from '../../../src/core/connector.ts';
import { META } from './errors.ts';
import type { TemplateOptions } from './options.ts';
import { WaStatus } from './payload.ts';
import { lookupSent, recordMetaClosed } from './sent-index.ts';

export interface StatusOutcome {
  conversation: string;
  /** The private note for the agents. */
  note: { text: string; key: string };
  /** Send this again, as the template (Meta accepted a free-form reply, then reported 131047). */
  again?: { text: string; replyId: string; key: string };
}

export interface StatusDeps {
  kv: KeyValueStore;
  template?: TemplateOptions;
  ctx: Pick<ChannelContext, 'noteToAgents' | 'replyAgain' | 'afterSends'>;
}

/**
 * Tells the agents about our sends that failed and sends again where Meta's 131047 asks for the
 * template. A status for a message id the gateway has not indexed may be about a send still under
 * way (Meta can report before the send's record is written): it is put off until the sends to its
 * recipient are done (`ChannelContext.afterSends`, the job behind them in the conversation's lane)
 * and decided then, `final`: by then an id the gateway sent is indexed.
 */
export async function reportStatuses(deps: StatusDeps, statuses: WaStatus[], final = false): Promise<void> {
  for (const status of statuses) {
    if (!final && status.status === 'failed' && status.recipient_id && !(await lookupSent(deps.kv, status.id))) {
      // Parsed from Meta's JSON body: JSON.
      await deps.ctx.afterSends(status.recipient_id, status as JsonValue, `status:${status.id}:failed`);
      continue;
    }
    const outcome = await outcomeOfStatus(deps.kv, status, deps.template);
    if (!outcome) continue;
    await deps.ctx.noteToAgents(outcome.conversation, outcome.note.text, outcome.note.key);
    if (outcome.again) await deps.ctx.replyAgain(outcome.conversation, { text: outcome.again.text, replyId: outcome.again.replyId }, outcome.again.key);
  }
}

/** A status put off by `reportStatuses`, decided now that the sends to its recipient are done. */
export function reportPutOffStatus(deps: StatusDeps, work: unknown): Promise<void> {
  return reportStatuses(deps, [WaStatus.parse(work)], true);
}

/**
 * A `failed` receipt for one of our sends becomes a note for the agents, with Meta's code, title
 * and details as Meta wrote them. Other statuses (sent, delivered, read) need no one's attention.
 * The conversation comes from what `send` recorded; a message we did not record (sent before an
 * upgrade, or by another tool on the same number) falls back to the recipient's id.
 *
 * Meta reports the closed 24-hour window (131047) this way too, after it accepted the send: the
 * conversation is then marked closed, and the reply goes again as the configured template, as
 * a refusal at send time would have had it.
 */
export async function outcomeOfStatus(kv: KeyValueStore, status: WaStatus, template: TemplateOptions | undefined): Promise<StatusOutcome | undefined> {
  if (status.status !== 'failed') return undefined;
  const sent = await lookupSent(kv, status.id);
  const conversation = sent?.conversation ?? status.recipient_id;
  if (!conversation) return undefined;
  const errors = (status.errors ?? []).map((e) => {
    const head = [e.code !== undefined ? `error ${e.code}` : undefined, e.title ?? e.message].filter(Boolean).join(': ');
    const details = e.error_data?.details;
    return details && details !== e.title ? `${head} (${details})` : head;
  });
  const what = sent ? `the message "${sent.excerpt}"` : `message ${status.id}`;
  const when = status.timestamp && /^\d+$/.test(status.timestamp) ? new Date(Number(status.timestamp) * 1000) : undefined;
  const at = when ? ` at ${when.toISOString().replace(/\.\d{3}Z$/, 'Z')}` : '';
  const why = errors.length > 0 ? errors.join('; ') : 'WhatsApp gave no reason';
  const said = `Switchboard: WhatsApp reports that ${what} was NOT delivered to the customer${at}: ${why}.`;
  const key = `status:${status.id}:failed`;

  const reengagement = (status.errors ?? []).some((e) => e.code === META.REENGAGEMENT);
  if (!reengagement) return { conversation, note: { text: said, key } };
  await recordMetaClosed(kv, conversation, when ?? new Date());
  const resend = sent && sent.text !== undefined && !sent.template && template;
  if (!resend) {
    const next = !sent
      ? ' The gateway has no record of sending it (another tool on this number, or sent before an upgrade), so it is not sent again; nothing more can be sent until the customer writes again.'
      : sent.template ? '' : ' No template is configured for this channel (template: in its config), so nothing more can be sent until the customer writes again.';
    return { conversation, note: { text: `${said}${next}`, key } };
  }
  return {
    conversation,
    note: { text: `${said} The reply goes again as the approved template "${template.name}" (${template.language}).`, key },
    // Keyed by the reply: several failed parts of one reply send one template.
    again: { text: sent.text!, replyId: `again:${sent.replyId}`, key: `131047:${sent.replyId}` },
  };
}
