import { maskedNote } from './privacy.ts';
import type {
  AgentReply,
  AttemptContext,
  Capability,
  ChannelInstance,
  FetchedFile,
  HelpdeskInstance,
  JsonValue,
  Medium,
  Logger,
  Notice,
  NotifierInstance,
  TicketInput,
  TicketRef,
} from './connector.ts';
import type { AttachmentRef, NormalizedMessage } from './message.ts';
import type { Decision, Priority, Replies } from './rules/schema.ts';
import type { CompiledRules, TopicScorer } from './rules/engine.ts';
import type { RoutingLog } from './history/routing-log.ts';
import { detectLanguage, evaluate, pickReply, renderTemplate } from './rules/engine.ts';
import { DeliveryError, asDeliveryError } from './errors.ts';
import {
  HELPDESK_TARGET,
  channelTarget,
  conversationKey,
  type ConversationEvent,
  type ConversationLog,
  type Job,
  type JobPayload,
  type Link,
  type LinkStore,
  type NewJob,
} from './jobs.ts';
import { formatBytes } from './format-bytes.ts';
import type { ConversationTiming } from './kpi/timing.ts';
import type { IdentityService } from './identity/service.ts';
import { joinedNote, playerField } from './identity/deliver.ts';
import { routeReply } from './identity/reply-via.ts';
import { topicOf } from './rules/topic.ts';
import { afterWrite } from './last-set.ts';
import type { Csat } from './csat/csat.ts';
import type { TicketsBeingLinked } from './linking.ts';

/**
 * What happens to each job: route and deliver customer messages, fan agent replies
 * out to channels, send automatic replies and notes. Runtimes call `run` for the
 * head of a lane and `onGiveUp` when a job is dead-lettered.
 */

export interface ChannelEntry {
  kind: string;
  /** What the channel is, from its definition: the helpdesk maps from this. */
  medium: Medium;
  network?: string;
  /** What a reply can carry on it, from its definition (absent: text). */
  sends?: readonly Capability[];
  instance: ChannelInstance;
}

export interface RuleSet {
  compiled: CompiledRules;
  replies: Replies;
  /** The text model `model:` conditions ask (reloaded without a restart, like the rules). */
  model?: TopicScorer;
}

export interface PipelineDeps {
  helpdesk: HelpdeskInstance;
  channels: ReadonlyMap<string, ChannelEntry>;
  /** Notifier instances by their id in `notifiers:`. */
  notifiers?: ReadonlyMap<string, NotifierInstance>;
  links: LinkStore;
  /** The rules in force now (they reload without a restart). */
  rules(): RuleSet;
  timezone: string;
  log: Logger;
  now?: () => Date;
  /** Response times per conversation (absent: not measured). */
  timing?: ConversationTiming;
  /** Where each conversation's path is recorded for the console (best effort). */
  history?: Pick<ConversationLog, 'record'>;
  /**
   * Attempts of a delivery during which a file that cannot be fetched (a network error, a host too
   * slow for its deadline) holds the message back; from the last of them on, the message goes to
   * the ticket without it and the note names the file and why. Default 3; keep it at most
   * `delivery.maxAttempts`, or a failing file would dead-letter the message.
   */
  fileAttempts?: number;
  /** Customers across channels (docs/identity.md); without it every conversation is on its own. */
  identity?: IdentityService;
  /** How agents see which rules fired (`helpdesk.rulesFired`): tags in the message's own write (default), or a private note. */
  rulesFired?: 'tags' | 'note';
  /** The rating question after a ticket is solved (docs/csat.md); absent: never asked. */
  csat?: Csat;
  /** Where each routed message and its decision are kept for `rules eval` and `rules diff`. */
  routingLog?: RoutingLog;
  /** Tickets created but not linked yet, so an agent's event in that moment waits for the link (absent: it is ignored). */
  linking?: TicketsBeingLinked;
}

/**
 * What a delivery leaves behind. The runtime writes it in the same transaction that records the
 * jobs as done: a conversation's link never exists without its delivery being recorded, and work
 * that follows from it (an automatic reply that needs the link) is never queued without it.
 */
export interface RunOutcome {
  /** The conversation's link, created or updated. */
  link?: Link;
  /** Follow-up work: automatic replies, notes for the agents, notices, agents' replies to send. */
  enqueue?: NewJob[];
}

export interface Pipeline {
  run(jobs: Job[], ctx: AttemptContext): Promise<RunOutcome | void>;
  /** A job was dead-lettered: returns the follow-up work (tell the agent a reply did not go out). */
  onGiveUp(job: Job, err: DeliveryError): NewJob[];
  /**
   * The priority a queued job waits with (runtimes serve urgent before high before the rest).
   * Called once per job, by the worker, soon after it is queued; absent: every job is alike.
   */
  classify?(job: Job): Promise<Priority | undefined>;
}

/** Lanes: inbound and outbound of a conversation are separate so a slow helpdesk never holds up replies. */
export const lanes = {
  inbound: (key: string) => `in:${key}`,
  outbound: (key: string) => `out:${key}`,
  ticket: (ticketId: string) => `ticket:${ticketId}`,
  sync: (ticketId: string) => `sync:${ticketId}`,
  notify: (target: string) => `notify:${target}`,
};

/** The job that carries a freshly accepted message. */
export function inboundJob(message: NormalizedMessage): NewJob {
  const key = conversationKey(message.channel.id, message.conversation.externalId);
  const batch = message.meta['batchKey'];
  return {
    dedupeKey: `in:${message.channel.id}:${message.dedupeKey}`,
    lane: lanes.inbound(key),
    target: HELPDESK_TARGET,
    payload: { kind: 'inbound', message },
    batchKey: typeof batch === 'string' ? batch : undefined,
    sender: `${message.channel.id}:${message.sender.externalId}`,
    conversation: key,
  };
}

export function noteJob(ticketId: string, text: string, dedupeKey: string): NewJob {
  return { dedupeKey, lane: lanes.ticket(ticketId), target: HELPDESK_TARGET, payload: { kind: 'note', ticketId, text } };
}

export function syncJob(ticketId: string, dedupeKey: string, tags?: string[]): NewJob {
  return { dedupeKey, lane: lanes.sync(ticketId), target: HELPDESK_TARGET, payload: { kind: 'sync', ticketId, ...(tags ? { tags } : {}) } };
}

/** Told once per flood episode, with the first message that had to wait for it. */
export const THROTTLED_NOTE =
  'Switchboard: this sender went over the flood limit (delivery.floodLimit), so their messages are delivered ' +
  'after other customers\' until they slow down. Nothing was dropped; urgent messages are not held back.';

/** Agent comments older than the link (by more than clock skew) were not written for this conversation. */
const REPLY_CLOCK_SKEW_MS = 5 * 60_000;

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { helpdesk, links, log } = deps;
  const now = deps.now ?? (() => new Date());
  const channelRefs = new Map([...deps.channels].map(([id, c]) => [id, { id, kind: c.kind, medium: c.medium, ...(c.network ? { network: c.network } : {}) }]));

  /** Never fails a delivery: the path is for people looking, the message is what matters. */
  async function record(key: string, event: Omit<ConversationEvent, 'at'>, terms?: string[]): Promise<void> {
    await deps.history?.record(key, { at: Date.now(), ...event }, terms).catch((err: unknown) => log.warn({ err }, 'could not record a conversation event'));
  }

  function channelOf(channelId: string): ChannelEntry {
    const entry = deps.channels.get(channelId);
    if (!entry) {
      throw new DeliveryError(`channel '${channelId}' is not configured any more`, { kind: 'permanent' });
    }
    return entry;
  }

  const fileAttempts = deps.fileAttempts ?? 3;

  /**
   * A file that cannot be fetched never costs the message: a permanent failure is a note at once,
   * a transient one retries the delivery for `fileAttempts` attempts and is then a note too.
   */
  async function fetchOrExplain<F>(fetch: () => Promise<F>, ctx: AttemptContext, explain: (why: string) => string): Promise<F | string> {
    try {
      return await fetch();
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind !== 'permanent' && ctx.attempt < fileAttempts) throw e;
      const why = `${e.message}${e.detail && e.detail !== e.message && !e.message.includes(e.detail) ? ` (${e.detail.slice(0, 500)})` : ''}`;
      return explain(e.kind === 'permanent' ? why : `${why}; gave up after ${ctx.attempt} attempts`);
    }
  }

  async function fetchFiles(channel: ChannelInstance, refs: AttachmentRef[], ctx: AttemptContext): Promise<{ files: FetchedFile[]; notes: string[] }> {
    const files: FetchedFile[] = [];
    const notes: string[] = [];
    for (const ref of refs) {
      if (ref.unavailable) {
        notes.push(`Attachment "${ref.name}" (${ref.mime}${ref.size ? `, ${formatBytes(ref.size)}` : ''}) was not attached: ${ref.unavailable}.`);
        continue;
      }
      const got = await fetchOrExplain(() => channel.fetchAttachment(ref), ctx, (why) => `Attachment "${ref.name}" could not be fetched from the channel: ${why}.`);
      if (typeof got === 'string') notes.push(got);
      else files.push(got);
    }
    return { files, notes };
  }

  async function inbound(jobs: Job[], ctx: AttemptContext): Promise<RunOutcome | void> {
    const messages = jobs.map((j) => (j.payload as Extract<JobPayload, { kind: 'inbound' }>).message);
    const first = messages[0]!;
    const key = conversationKey(first.channel.id, first.conversation.externalId);
    // The runtime may have read the link with the job (the lane is ours: nobody else writes it meanwhile;
    // a reply-via thread is written before its first mail goes out, so before any message on it).
    const link = jobs[0]!.link !== undefined ? (jobs[0]!.link ?? undefined) : await links.get(key);
    // An answer to the rating question (a button, "5", the follow-up text) is not a new request;
    // the customer did write, though (WhatsApp's 24-hour window opens again).
    if (await deps.csat?.intercept(messages)) return touch(link, messages);
    const channel = channelOf(first.channel.id);
    const throttled = jobs.some((j) => j.throttled === 'first');
    const channelRef = channelRefs.get(first.channel.id)!;
    let who = await deps.identity?.recognize(first, channelRef, link?.conversation);
    const combined: NormalizedMessage = {
      ...first,
      ...(who?.playerId ? { playerId: who.playerId } : {}),
      text: messages.map((m) => m.text).filter((t) => t.length > 0).join('\n'),
      attachments: messages.flatMap((m) => m.attachments),
    };
    const { compiled, replies, model } = deps.rules();
    const routedAt = now();
    const decision = evaluate(compiled, { message: combined, isFirst: !link, now: routedAt, timezone: deps.timezone, model });
    if (deps.identity && decision.player?.trusted && decision.player.id !== who?.playerId) {
      const linked = await deps.identity.linkPlayer(first, channelRef, decision.player.id);
      who = { ...linked, notes: [...(who?.notes ?? []), ...linked.notes] };
    }
    if (deps.identity) Object.assign(decision.fields, playerField(deps.identity, who, decision));
    const newRules = decision.firedRules.filter((r) => !link?.firedRules.includes(r));
    // The rules that fired go as tags in the message's own write, unless a private note is asked for.
    const asNote = deps.rulesFired === 'note';
    const { files, notes: fileNotes } = await fetchFiles(channel.instance, combined.attachments, ctx);
    const masked = maskedNote(messages);
    // With tags, the model's scores still reach the agent when a rule that fired now read them: a
    // learned verdict needs its why (one note, only on the messages the model routed).
    const modelNote = !asNote && decision.model?.usedBy.some((r) => newRules.includes(r)) ? [describeScores(decision.model)] : [];
    const notes = [
      ...(asNote && newRules.length > 0 ? [describeDecision(decision, newRules)] : modelNote),
      ...(masked ? [masked] : []),
      ...(throttled ? [THROTTLED_NOTE] : []),
      ...fileNotes,
      ...(who?.notes ?? []),
    ];
    const topic = topicOf(decision);
    // A known customer's new conversation joins their open ticket (identity.join); a follow-up stays where it is.
    const joined = link ? undefined : await deps.identity?.joinOrOpen(who?.customer, topic, key);
    const lastSet = link ? link.lastSet : joined?.lastSet;
    const input: TicketInput = {
      channel: channelRef,
      message: first,
      extra: messages.slice(1),
      decision: asNote ? decision : { ...decision, tags: [...decision.tags, ...newRules.map(ruleTag)] },
      subject: decision.subject ?? first.conversation.subject ?? defaultSubject(combined),
      files,
      notes,
      conversationKey: key,
      ...(messages.every((m) => m.private === true) ? { private: true } : {}),
      ...(lastSet ? { lastSet } : {}),
    };

    let ref: TicketRef;
    const requester = deps.identity
      ? await deps.identity.requester(who?.customer, first, channelRef, ctx, link?.requesterId ?? joined?.requesterId)
      : link ? { id: link.requesterId } : await helpdesk.upsertRequester(first.sender, channelRef, ctx);
    notes.push(...(requester.notes ?? []));
    if (joined) {
      notes.unshift(joinedNote(channelRef, who?.playerId));
      ref = await helpdesk.appendMessage(joined.ticketId, input, requester, ctx);
    } else if (!link) {
      ref = await helpdesk.createTicket(input, requester, ctx);
    } else {
      ref = await helpdesk.appendMessage(link.ticketId, input, requester, ctx);
    }
    // What the ticket now carries at least; a ticket the message had to move to starts afresh.
    const nowSet = afterWrite(ref.ticketId === (link?.ticketId ?? joined?.ticketId) ? lastSet : undefined, input.decision);
    const language = detectLanguage(combined.text, first.sender.locale);
    // What the delivery writes once the ticket has it goes at once, not one store round trip after
    // another (on Redis each is one). What never fails it and is harmless to repeat when the
    // delivery is retried starts first: the routing decision (rules eval samples them) and the
    // conversation's timing (a message id it has seen changes nothing). The customer waits for an
    // answer from when they wrote (the channel's time), not from when we delivered it.
    const waiting = input.private ? [] : messages.filter((m) => m.kind !== 'edit' && !m.private);
    const kept = Promise.all([
      // A new ticket is not linked until this delivery is recorded: an agent's event on it waits till then.
      ref.ticketId !== (link?.ticketId ?? joined?.ticketId)
        ? deps.linking?.mark(ref.ticketId).catch((err: unknown) => log.warn({ err, ticketId: ref.ticketId }, 'could not mark the new ticket as being linked'))
        : undefined,
      deps.routingLog?.append({
        at: routedAt.getTime(),
        ticketId: ref.ticketId,
        created: !link || link.ticketId !== ref.ticketId,
        isFirst: !link,
        message: combined,
        decision,
      }).catch((err: unknown) => log.warn({ err, ticketId: ref.ticketId }, 'could not keep the routing decision for rules eval / rules diff')),
      deps.timing && waiting.length > 0
        ? deps.timing.customerMessage({
          ticketId: ref.ticketId,
          ...(ref.url ? { ticketUrl: ref.url } : {}),
          messageId: first.id,
          channel: first.channel.id,
          at: Math.min(...waiting.map((m) => Date.parse(m.occurredAt)).filter(Number.isFinite), Date.now()),
          decision,
        })
        : undefined,
    ]);
    // Then what may fail the delivery, then what must not be done twice.
    await Promise.all([
      deps.identity?.remember(who?.customer, { ticketId: ref.ticketId, requesterId: ref.requesterId, topic, lastSet: nowSet }, { channelId: first.channel.id, key }),
      // Before the link: once linked, a ticket solved at once is asked in this language.
      deps.csat?.remember(ref.ticketId, { channelId: first.channel.id, conversationKey: key, decision, language }),
    ]);
    const conversation = {
      channelId: first.channel.id,
      externalId: first.conversation.externalId,
      subject: link?.conversation.subject ?? input.subject,
      threadRefs: mergeRefs(link?.conversation.threadRefs, messages.flatMap((m) => m.conversation.threadRefs ?? [])),
      sender: { ...link?.conversation.sender, ...stripUndefined(first.sender), externalId: first.sender.externalId },
      meta: { ...link?.conversation.meta, lastInboundAt: first.occurredAt, lastMessageId: first.externalId },
    };
    const updated: Link = {
      conversationKey: key,
      channelId: first.channel.id,
      ticketId: ref.ticketId,
      requesterId: ref.requesterId,
      conversation,
      createdAt: link && link.ticketId === ref.ticketId ? link.createdAt : Date.now(),
      firedRules: [...(link?.firedRules ?? []), ...newRules],
      lastSet: nowSet,
      latestAt: receivedLast(messages),
    };
    rememberLinked(key);
    if (link && link.ticketId !== ref.ticketId) {
      log.info({ conversation: key, from: link.ticketId, to: ref.ticketId }, 'conversation moved to a follow-up ticket');
    }
    const what = !link ? 'a new ticket' : link.ticketId !== ref.ticketId ? `a follow-up of ticket ${link.ticketId}` : 'added to the ticket';
    const fired = decision.firedRules.length > 0 ? `; rules: ${decision.firedRules.join(', ')}` : '';
    await Promise.all([
      kept,
      // The helpdesk has the files now; the channel may free what it kept for us (uploaded form files).
      (async () => {
        for (const a of combined.attachments) await channel.instance.releaseAttachment?.(a).catch((err: unknown) => log.warn({ err, attachment: a.name }, 'could not release an attachment'));
      })(),
      record(key, { kind: 'ticket', ticketId: ref.ticketId, ticketUrl: ref.url, text: `${what}${fired}` }, [ref.ticketId]),
    ]);

    // Side effects are jobs of their own, keyed so a retried delivery does not repeat them.
    const followUps: NewJob[] = [];
    // A private message (a call log) is not the customer writing in: nothing to answer.
    for (const name of input.private ? [] : decision.replies) {
      const template = pickReply(replies, name, language);
      if (template === undefined) {
        log.warn({ reply: name }, 'rule names a reply that does not exist');
        continue;
      }
      followUps.push({
        dedupeKey: `auto:${first.channel.id}:${first.dedupeKey}:${name}`,
        lane: lanes.outbound(key),
        target: channelTarget(first.channel.id),
        payload: { kind: 'autoreply', conversationKey: key, ticketId: ref.ticketId, text: renderTemplate(template, combined, decision), name },
      });
    }
    if (newRules.length > 0) {
      for (const target of decision.notify) {
        if (!deps.notifiers?.has(target.split(':')[0]!)) {
          log.warn({ target, ticketId: ref.ticketId }, 'a rule asks to notify a notifier that is not configured; skipped');
          continue;
        }
        followUps.push({
          dedupeKey: `notify:${ref.ticketId}:${target}:${newRules.join(',')}`,
          lane: lanes.notify(target),
          target: `notifier:${target.split(':')[0]}`,
          payload: {
            kind: 'notify',
            target,
            ticketId: ref.ticketId,
            ticketUrl: ref.url,
            rule: newRules.join(', '),
            message: combined,
            priority: decision.priority,
            tags: decision.tags,
          },
        });
      }
    }
    return { link: updated, enqueue: followUps };
  }

  // Conversations known to have a ticket (a link is never removed), so classifying a follow-up
  // costs no store read. Bounded: forgotten ones are read again.
  const linked = new Set<string>();
  const rememberLinked = (key: string) => {
    if (linked.size >= 100_000) linked.clear();
    linked.add(key);
  };
  async function hasTicket(key: string): Promise<boolean> {
    if (linked.has(key)) return true;
    const found = (await links.get(key)) !== undefined;
    if (found) rememberLinked(key);
    return found;
  }

  /** The customer wrote (a rating answer): the link remembers when, for channels with a reply window. */
  function touch(link: Link | undefined, messages: NormalizedMessage[]): RunOutcome | void {
    if (!link) return;
    const meta = { ...link.conversation.meta, lastInboundAt: messages[0]!.occurredAt };
    return { link: { ...link, conversation: { ...link.conversation, meta }, latestAt: receivedLast(messages) } };
  }

  async function sync({ ticketId, tags }: Extract<JobPayload, { kind: 'sync' }>, eventAt: number): Promise<RunOutcome | void> {
    const link = await links.byTicket(ticketId);
    if (!link) {
      // A ticket the gateway is creating right now: its link comes with the delivery's record.
      const wait = await deps.linking?.untilLinked(ticketId, eventAt);
      if (wait) throw wait;
      log.debug({ ticketId }, 'agent event for a ticket no conversation is linked to; ignored');
      return;
    }
    const replies = await helpdesk.listAgentReplies(ticketId);
    const since = link.createdAt - REPLY_CLOCK_SKEW_MS;
    const fresh = replies.filter((r) => !r.createdAt || Date.parse(r.createdAt) >= since);
    if (fresh.length === 0) return;
    const route = await routeReply({ links, identity: deps.identity, channels: channelRefs }, ticketId, link, [...(fresh.at(-1)!.ticketTags ?? []), ...(tags ?? [])]);
    const chosen = route.link.conversationKey !== link.conversationKey;
    const enqueue = fresh.map(({ ticketTags: _, ...reply }) => replyJob(route.link, reply, { chosen, notes: route.notes }));
    // A thread opened for these replies is stored with them, in the completion's one write: it
    // exists only once the replies that go to it are queued, and an attempt not recorded leaves none.
    return route.opened ? { link: route.link, enqueue } : { enqueue };
  }

  async function reply({ reply: r, to, notes: routeNotes }: Extract<JobPayload, { kind: 'reply' }>, ctx: AttemptContext): Promise<RunOutcome | void> {
    const link = to ? await links.get(to) : await links.byTicket(r.ticketId);
    if (!link) throw new DeliveryError(`no conversation is linked to ticket ${r.ticketId}`, { kind: 'permanent' });
    const channel = channelOf(link.channelId);
    const files: FetchedFile[] = [];
    const notes: string[] = [...(routeNotes ?? [])];
    for (const a of r.attachments) {
      const got = await fetchOrExplain(() => helpdesk.fetchAttachment(a.url), ctx, (why) => `Attachment "${a.name}" of this reply could not be downloaded from the helpdesk: ${why}.`);
      if (typeof got === 'string') notes.push(got);
      else files.push(got);
    }
    const result = await channel.instance.send(link.conversation, { text: r.text, html: r.html, files, replyId: `${r.ticketId}:${r.commentId}` });
    notes.push(...(result.notes ?? []));
    await record(link.conversationKey, { kind: 'reply', ticketId: r.ticketId, text: excerpt(r.text) });
    if (notes.length > 0) {
      return { enqueue: [noteJob(r.ticketId, `Switchboard: about the reply to the customer on ${link.channelId}:\n- ${notes.join('\n- ')}`, `note:reply:${r.ticketId}:${r.commentId}`)] };
    }
  }

  async function autoreply(p: Extract<JobPayload, { kind: 'autoreply' }>, dedupeKey: string): Promise<RunOutcome> {
    const link = await links.get(p.conversationKey);
    if (!link) throw new DeliveryError(`conversation ${p.conversationKey} has no link`, { kind: 'permanent' });
    const channel = channelOf(link.channelId);
    const result = await channel.instance.send(link.conversation, { text: p.text, files: [], replyId: dedupeKey, automatic: true });
    // A channel may decline (it cannot carry replies, or caps automatic ones): say why instead of "sent".
    const declined = result.externalIds.length === 0 && (result.notes ?? []).length > 0;
    const text = declined
      ? `Switchboard did not send the automatic reply "${p.name}" to the customer: ${result.notes!.join(' ')}`
      : `Switchboard sent the automatic reply "${p.name}" to the customer:\n${p.text}`;
    await record(p.conversationKey, { kind: 'autoreply', ticketId: p.ticketId, text: declined ? `not sent: ${result.notes!.join(' ')}` : `"${p.name}": ${excerpt(p.text)}` });
    return { enqueue: [noteJob(p.ticketId, text, `note:${dedupeKey}`)] };
  }

  async function note(ticketId: string, text: string, ctx: AttemptContext): Promise<void> {
    await helpdesk.addPrivateNote(ticketId, text, ctx);
    if (!deps.history) return;
    const link = await links.byTicket(ticketId);
    if (link) await record(link.conversationKey, { kind: 'note', ticketId, text: excerpt(text) });
  }

  /** `slack:compliance` → the notifier `slack`, its target `compliance`. */
  async function sendNotice(target: string, notice: Omit<Notice, 'target'>, ctx: AttemptContext): Promise<void> {
    const colon = target.indexOf(':');
    const id = colon === -1 ? target : target.slice(0, colon);
    const notifier = deps.notifiers?.get(id);
    if (!notifier) throw new DeliveryError(`no notifier '${id}' is configured (target '${target}')`, { kind: 'permanent' });
    await notifier.send({ ...notice, target: colon === -1 ? '' : target.slice(colon + 1) }, ctx);
  }

  async function notify(p: Extract<JobPayload, { kind: 'notify' }>, ctx: AttemptContext): Promise<void> {
    await sendNotice(p.target, {
      ticketId: p.ticketId,
      ticketUrl: p.ticketUrl,
      rules: p.rule.split(', '),
      priority: p.priority,
      tags: p.tags,
      channel: p.message.channel,
      senderName: p.message.sender.displayName ?? p.message.sender.username,
      text: p.message.text,
    }, ctx);
  }

  /** Scheduling: the rules' priority for a customer message; agents' replies go before the backlog. */
  async function classify(job: Job): Promise<Priority | undefined> {
    const p = job.payload;
    switch (p.kind) {
      case 'inbound': {
        const key = conversationKey(p.message.channel.id, p.message.conversation.externalId);
        if (job.link || job.linked) rememberLinked(key);
        const isFirst = job.link === null || !(await hasTicket(key));
        const { compiled, model } = deps.rules();
        return evaluate(compiled, { message: p.message, isFirst, now: now(), timezone: deps.timezone, model }).priority;
      }
      case 'notify':
        return p.priority === 'urgent' ? 'urgent' : 'high';
      case 'sync':
      case 'reply':
      case 'autoreply':
      case 'notice':
        return 'high';
      case 'note':
      case 'tag':
      case 'csat':
      case 'channel':
        return undefined;
    }
  }

  return {
    classify,
    async run(jobs, ctx) {
      const head = jobs[0]!;
      const p = head.payload;
      switch (p.kind) {
        case 'inbound':
          return inbound(jobs, ctx);
        case 'sync':
          return sync(p, head.createdAt);
        case 'reply':
          // The agent answered when the helpdesk says, else when the gateway saw the answer.
          await deps.timing?.agentReply({ ticketId: p.reply.ticketId, commentId: p.reply.commentId, at: (p.reply.createdAt ? Date.parse(p.reply.createdAt) : NaN) || head.createdAt });
          return reply(p, ctx);
        case 'autoreply':
          return autoreply(p, head.dedupeKey);
        case 'note':
          return note(p.ticketId, p.text, ctx);
        case 'notify':
          return notify(p, ctx);
        case 'tag':
          return helpdesk.addTags(p.ticketId, p.tags, ctx);
        case 'notice':
          return sendNotice(p.target, p.notice, ctx);
        case 'csat':
          if (!deps.csat) throw new DeliveryError('a rating job, but the csat section is not configured any more', { kind: 'permanent' });
          return deps.csat.run(p.csat, ctx);
        case 'channel': {
          const channel = channelOf(p.channelId);
          if (!channel.instance.afterSends) throw new DeliveryError(`channel ${p.channelId} has no work put off after its sends`, { kind: 'permanent' });
          return channel.instance.afterSends(p.conversation, p.work);
        }
      }
    },
    onGiveUp(job, err) {
      const p = job.payload;
      if (p.kind !== 'reply' && p.kind !== 'autoreply') return [];
      const ticketId = p.kind === 'reply' ? p.reply.ticketId : p.ticketId;
      const what = p.kind === 'reply' ? 'This reply was NOT delivered to the customer' : `The automatic reply "${p.name}" was NOT sent`;
      const reason = `${err.message}${err.detail ? `\nThe channel answered: ${err.detail}` : ''}`;
      return [noteJob(ticketId, `Switchboard: ${what}.\n${reason}`, `note:giveup:${job.dedupeKey}`)];
    },
  };
}

/**
 * When the newest of these messages reached the gateway: the order the customer wrote in, across
 * channels and whatever order the deliveries finish in (`Link.latestAt`).
 */
function receivedLast(messages: NormalizedMessage[]): number {
  const at = Math.max(...messages.map((m) => Date.parse(m.receivedAt)));
  return Number.isFinite(at) ? at : Date.now();
}

/** A reply the channel sends again in a form of its own choosing (ChannelContext.replyAgain): a reply job of its own. */
export function againJob(link: Link, reply: { text: string; replyId: string }, dedupeKey: string): NewJob {
  return { ...replyJob(link, { ticketId: link.ticketId, commentId: reply.replyId, text: reply.text, attachments: [] }, { chosen: true }), dedupeKey };
}

/** Work a channel put off (ChannelContext.afterSends): behind the sends queued for the conversation, in its outbound lane. */
export function afterSendsJob(channelId: string, conversation: string, work: JsonValue, dedupeKey: string): NewJob {
  return { dedupeKey, lane: lanes.outbound(conversationKey(channelId, conversation)), target: channelTarget(channelId), payload: { kind: 'channel', channelId, conversation, work } };
}

/**
 * An agent's reply on its way to the conversation `link`. Unless `chosen` (by a `reply_via_` tag,
 * or by the channel sending again), it goes wherever the customer wrote last when it is sent.
 */
function replyJob(link: Link, reply: AgentReply, route: { chosen?: boolean; notes?: string[] } = {}): NewJob {
  return {
    dedupeKey: `reply:${reply.ticketId}:${reply.commentId}`,
    lane: lanes.outbound(link.conversationKey),
    target: channelTarget(link.channelId),
    payload: { kind: 'reply', reply, ...(route.chosen ? { to: link.conversationKey } : {}), ...(route.notes?.length ? { notes: route.notes } : {}) },
  };
}

/** The tag that tells agents a rule fired (`helpdesk.rulesFired: tags`): `rule_<name>`, one word. */
export function ruleTag(name: string): string {
  return `rule_${name.trim().toLowerCase().replace(/[\s,]+/g, '_')}`;
}

export function describeDecision(decision: Decision, rules: string[]): string {
  const parts = [`Switchboard rules fired: ${rules.join(', ')}.`];
  if (decision.priority) parts.push(`Priority: ${decision.priority}.`);
  if (decision.group) parts.push(`Group: ${decision.group}.`);
  if (decision.type) parts.push(`Type: ${decision.type}.`);
  if (decision.tags.length > 0) parts.push(`Tags: ${decision.tags.join(', ')}.`);
  if (decision.model) parts.push(describeScores(decision.model));
  return parts.join(' ');
}

/** "Text model: responsible_gaming 0.82, payments 0.11, … (used by rule responsible-gaming-model)." */
export function describeScores(model: NonNullable<Decision['model']>): string {
  const top = Object.entries(model.scores).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, v]) => `${t} ${v.toFixed(2)}`);
  const used = model.usedBy.length > 0 ? ` (used by rule${model.usedBy.length > 1 ? 's' : ''} ${model.usedBy.join(', ')})` : ' (no rule that fired used it)';
  return `Text model: ${top.join(', ')}${used}.`;
}

/** The start of a text, on one line: enough for a person to recognise it. Reads only the start (a text may be a megabyte). */
export function excerpt(text: string, max = 160): string {
  const start = text.trimStart();
  const line = start.slice(0, max * 8).replace(/\s+/g, ' ').trim();
  return line.length > max || start.length > max * 8 ? `${line.slice(0, max - 1)}…` : line;
}

function defaultSubject(m: NormalizedMessage): string {
  const who = m.sender.displayName ?? m.sender.username ?? m.sender.phone ?? m.sender.email ?? m.sender.externalId;
  const start = excerpt(m.text, 60);
  return start ? `${start} — ${who} via ${m.channel.id}` : `Message from ${who} via ${m.channel.id}`;
}

function mergeRefs(a: string[] | undefined, b: string[]): string[] | undefined {
  const all = [...new Set([...(a ?? []), ...b])];
  return all.length > 0 ? all.slice(-50) : undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
