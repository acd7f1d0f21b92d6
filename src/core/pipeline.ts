import type {
  AgentReply,
  AttemptContext,
  ChannelInstance,
  FetchedFile,
  HelpdeskInstance,
  Logger,
  NotifierInstance,
  TicketInput,
  TicketRef,
} from './connector.ts';
import type { AttachmentRef, NormalizedMessage } from './message.ts';
import type { Decision, Priority, Replies } from './rules/schema.ts';
import type { CompiledRules } from './rules/engine.ts';
import { detectLanguage, evaluate, pickReply, renderTemplate } from './rules/engine.ts';
import { DeliveryError, asDeliveryError } from './errors.ts';
import {
  HELPDESK_TARGET,
  channelTarget,
  conversationKey,
  type Job,
  type JobPayload,
  type Link,
  type LinkStore,
  type NewJob,
} from './jobs.ts';

/**
 * What happens to each job: route and deliver customer messages, fan agent replies
 * out to channels, send automatic replies and notes. Runtimes call `run` for the
 * head of a lane and `onGiveUp` when a job is dead-lettered.
 */

export interface ChannelEntry {
  kind: string;
  instance: ChannelInstance;
}

export interface RuleSet {
  compiled: CompiledRules;
  replies: Replies;
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

export function syncJob(ticketId: string, dedupeKey: string): NewJob {
  return { dedupeKey, lane: lanes.sync(ticketId), target: HELPDESK_TARGET, payload: { kind: 'sync', ticketId } };
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

  function channelOf(channelId: string): ChannelEntry {
    const entry = deps.channels.get(channelId);
    if (!entry) {
      throw new DeliveryError(`channel '${channelId}' is not configured any more`, { kind: 'permanent' });
    }
    return entry;
  }

  async function fetchFiles(channel: ChannelInstance, refs: AttachmentRef[]): Promise<{ files: FetchedFile[]; notes: string[] }> {
    const files: FetchedFile[] = [];
    const notes: string[] = [];
    for (const ref of refs) {
      if (ref.unavailable) {
        notes.push(`Attachment "${ref.name}" (${ref.mime}${ref.size ? `, ${formatBytes(ref.size)}` : ''}) was not attached: ${ref.unavailable}.`);
        continue;
      }
      try {
        files.push(await channel.fetchAttachment(ref));
      } catch (err) {
        const e = asDeliveryError(err);
        if (e.kind !== 'permanent') throw e;
        notes.push(`Attachment "${ref.name}" could not be fetched from the channel: ${e.message}${e.detail ? ` (${e.detail})` : ''}.`);
      }
    }
    return { files, notes };
  }

  async function inbound(jobs: Job[], ctx: AttemptContext): Promise<RunOutcome> {
    const messages = jobs.map((j) => (j.payload as Extract<JobPayload, { kind: 'inbound' }>).message);
    const first = messages[0]!;
    const channel = channelOf(first.channel.id);
    const key = conversationKey(first.channel.id, first.conversation.externalId);
    // The runtime may have read the link with the job (the lane is ours: nobody else writes it meanwhile).
    const link = jobs[0]!.link !== undefined ? (jobs[0]!.link ?? undefined) : await links.get(key);
    const throttled = jobs.some((j) => j.throttled === 'first');
    const combined: NormalizedMessage = {
      ...first,
      text: messages.map((m) => m.text).filter((t) => t.length > 0).join('\n'),
      attachments: messages.flatMap((m) => m.attachments),
    };
    const { compiled, replies } = deps.rules();
    const decision = evaluate(compiled, { message: combined, isFirst: !link, now: now(), timezone: deps.timezone });
    const newRules = decision.firedRules.filter((r) => !link?.firedRules.includes(r));
    const { files, notes: fileNotes } = await fetchFiles(channel.instance, combined.attachments);
    const notes = [
      ...(newRules.length > 0 ? [describeDecision(decision, newRules)] : []),
      ...(throttled ? [THROTTLED_NOTE] : []),
      ...fileNotes,
    ];
    const input: TicketInput = {
      message: first,
      extra: messages.slice(1),
      decision,
      subject: decision.subject ?? first.conversation.subject ?? defaultSubject(combined),
      files,
      notes,
      conversationKey: key,
      ...(messages.every((m) => m.private === true) ? { private: true } : {}),
    };

    let ref: TicketRef;
    if (!link) {
      const requester = await helpdesk.upsertRequester(first.sender, first.channel, ctx);
      ref = await helpdesk.createTicket(input, requester, ctx);
    } else {
      ref = await helpdesk.appendMessage(link.ticketId, input, { id: link.requesterId }, ctx);
    }
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
    };
    rememberLinked(key);
    // The helpdesk has the files now; the channel may free what it kept for us (uploaded form files).
    for (const a of combined.attachments) await channel.instance.releaseAttachment?.(a).catch((err: unknown) => log.warn({ err, attachment: a.name }, 'could not release an attachment'));
    if (link && link.ticketId !== ref.ticketId) {
      log.info({ conversation: key, from: link.ticketId, to: ref.ticketId }, 'conversation moved to a follow-up ticket');
    }

    // Side effects are jobs of their own, keyed so a retried delivery does not repeat them.
    const followUps: NewJob[] = [];
    const language = detectLanguage(combined.text, first.sender.locale);
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

  async function sync(ticketId: string): Promise<RunOutcome | void> {
    const link = await links.byTicket(ticketId);
    if (!link) {
      log.debug({ ticketId }, 'agent event for a ticket no conversation is linked to; ignored');
      return;
    }
    const replies = await helpdesk.listAgentReplies(ticketId);
    const since = link.createdAt - REPLY_CLOCK_SKEW_MS;
    const fresh = replies.filter((r) => !r.createdAt || Date.parse(r.createdAt) >= since);
    return { enqueue: fresh.map((reply) => replyJob(link, reply)) };
  }

  async function reply(r: AgentReply): Promise<RunOutcome | void> {
    const link = await links.byTicket(r.ticketId);
    if (!link) throw new DeliveryError(`no conversation is linked to ticket ${r.ticketId}`, { kind: 'permanent' });
    const channel = channelOf(link.channelId);
    const files: FetchedFile[] = [];
    const notes: string[] = [];
    for (const a of r.attachments) {
      try {
        files.push(await helpdesk.fetchAttachment(a.url));
      } catch (err) {
        const e = asDeliveryError(err);
        if (e.kind !== 'permanent') throw e;
        notes.push(`Attachment "${a.name}" of this reply could not be downloaded from the helpdesk: ${e.message}.`);
      }
    }
    const result = await channel.instance.send(link.conversation, { text: r.text, html: r.html, files, replyId: `${r.ticketId}:${r.commentId}` });
    notes.push(...(result.notes ?? []));
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
    return { enqueue: [noteJob(p.ticketId, text, `note:${dedupeKey}`)] };
  }

  async function notify(p: Extract<JobPayload, { kind: 'notify' }>, ctx: AttemptContext): Promise<void> {
    const colon = p.target.indexOf(':');
    const id = colon === -1 ? p.target : p.target.slice(0, colon);
    const notifier = deps.notifiers?.get(id);
    if (!notifier) throw new DeliveryError(`no notifier '${id}' is configured (rule target '${p.target}')`, { kind: 'permanent' });
    await notifier.send({
      target: colon === -1 ? '' : p.target.slice(colon + 1),
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
        if (job.link) rememberLinked(key);
        const isFirst = job.link === null || !(await hasTicket(key));
        return evaluate(deps.rules().compiled, { message: p.message, isFirst, now: now(), timezone: deps.timezone }).priority;
      }
      case 'notify':
        return p.priority === 'urgent' ? 'urgent' : 'high';
      case 'sync':
      case 'reply':
      case 'autoreply':
        return 'high';
      case 'note':
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
          return sync(p.ticketId);
        case 'reply':
          return reply(p.reply);
        case 'autoreply':
          return autoreply(p, head.dedupeKey);
        case 'note':
          return helpdesk.addPrivateNote(p.ticketId, p.text, ctx);
        case 'notify':
          return notify(p, ctx);
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

function replyJob(link: Link, reply: AgentReply): NewJob {
  return {
    dedupeKey: `reply:${reply.ticketId}:${reply.commentId}`,
    lane: lanes.outbound(link.conversationKey),
    target: channelTarget(link.channelId),
    payload: { kind: 'reply', reply },
  };
}

export function describeDecision(decision: Decision, rules: string[]): string {
  const parts = [`Switchboard rules fired: ${rules.join(', ')}.`];
  if (decision.priority) parts.push(`Priority: ${decision.priority}.`);
  if (decision.group) parts.push(`Group: ${decision.group}.`);
  if (decision.type) parts.push(`Type: ${decision.type}.`);
  if (decision.tags.length > 0) parts.push(`Tags: ${decision.tags.join(', ')}.`);
  return parts.join(' ');
}

function defaultSubject(m: NormalizedMessage): string {
  const line = m.text.replace(/\s+/g, ' ').trim();
  const who = m.sender.displayName ?? m.sender.username ?? m.sender.phone ?? m.sender.email ?? m.sender.externalId;
  const excerpt = line.length > 60 ? `${line.slice(0, 57)}…` : line;
  return excerpt ? `${excerpt} — ${who} via ${m.channel.id}` : `Message from ${who} via ${m.channel.id}`;
}

function mergeRefs(a: string[] | undefined, b: string[]): string[] | undefined {
  const all = [...new Set([...(a ?? []), ...b])];
  return all.length > 0 ? all.slice(-50) : undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}
