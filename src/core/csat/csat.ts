import type { AcceptOutcome, AttemptContext, Conversation, HelpdeskInstance, KeyValueStore, Logger, ReplyToSend, SolvedTicket } from '../connector.ts';
import { DeliveryError, NotYet } from '../errors.ts';
import type { TicketsBeingLinked } from '../linking.ts';
import { escapeHtml } from '../html.ts';
import { newId } from '../ids.ts';
import { channelTarget, conversationKey, HELPDESK_TARGET, type ConversationEvent, type ConversationLog, type LinkStore, type NewJob } from '../jobs.ts';
import type { NormalizedMessage } from '../message.ts';
import { excerpt, noteJob, type ChannelEntry } from '../pipeline.ts';
import type { Language } from '../rules/language.ts';
import type { Decision } from '../rules/schema.ts';
import { topicOf } from '../rules/topic.ts';
import { choiceId, MAX_SCORE, MIN_SCORE, parseChoice, parseScoreText } from './answer.ts';
import { checkLinkToken, linkToken } from './link-token.ts';
import type { CsatOptions } from './options.ts';
import { nextAllowed } from './quiet-hours.ts';
import { csatRecords, type Question } from './records.ts';
import type { CsatStep } from './steps.ts';
import { scoreLabel, textsFor, type Texts } from './texts.ts';

/**
 * The rating question after a ticket is solved: ask once per ticket in the customer's channel and
 * language, take the answer (a button, a typed number, an email link), write it to the helpdesk,
 * and after a low score ask what could be better and hand that to the agents as a private note.
 * Every step is a job with its own dedupe key, so a redelivered button press, a retried job or a
 * second process never asks, rates or notes twice.
 */

/** Bounded labels: channel ids and groups come from the config, topics from a fixed list. */
export interface CsatLabels {
  channel: string;
  topic: string;
  group: string;
}

export interface CsatEvents {
  asked?(labels: CsatLabels): void;
  answered?(labels: CsatLabels, score: number): void;
  skipped?(channel: string, reason: string): void;
}

export interface CsatDeps {
  options: CsatOptions;
  kv: KeyValueStore;
  links: LinkStore;
  channels: ReadonlyMap<string, ChannelEntry>;
  helpdesk: HelpdeskInstance;
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]>;
  timezone: string;
  defaultLanguage: Language;
  /** Where email links point: `${publicUrl}/csat/{token}`. */
  publicUrl?: string;
  events?: CsatEvents;
  /** The conversation's path in the console: the question asked, the rating received. */
  history?: Pick<ConversationLog, 'record'>;
  log: Logger;
  now?: () => Date;
  /** Tickets created but not linked yet: one solved that moment waits for its link (absent: it is skipped). */
  linking?: TicketsBeingLinked;
}

/** What the email link page shows. */
export type LinkView =
  | { ok: true; score: number; language: Language; askComment: boolean; already: boolean }
  | { ok: false; status: 400 | 403 | 404 | 410; language: Language; problem: 'invalid' | 'expired' | 'tooLong' };

/** Longest answer to "what could we do better?" kept in the note; longer ones are cut. */
export const FEEDBACK_LIMIT = 2000;

export const csatLane = (ticketId: string) => `csat:${ticketId}`;

export type Csat = ReturnType<typeof createCsat>;

export function createCsat(deps: CsatDeps) {
  const { options, log } = deps;
  const records = csatRecords(deps.kv);
  const now = () => (deps.now ?? (() => new Date()))();
  const optedIn = (channelId: string) => Object.hasOwn(options.channels, channelId);
  const active = Object.keys(options.channels).length > 0;
  const rgTags = new Set(options.responsibleGaming.tags.map((t) => t.toLowerCase()));
  const texts = (language: Language): Texts => textsFor(language, options.texts);
  const labels = (q: Pick<Question, 'channelId' | 'topic' | 'group'>): CsatLabels => ({ channel: q.channelId, topic: q.topic, group: q.group ?? 'none' });

  function job(q: Pick<Question, 'ticketId' | 'sentVia'>, step: CsatStep, dedupeKey: string): NewJob {
    return {
      dedupeKey,
      lane: csatLane(q.ticketId),
      target: step.step === 'rate' ? HELPDESK_TARGET : channelTarget(q.sentVia),
      payload: { kind: 'csat', csat: step },
    };
  }

  /** Queues the rating; false when this question already has one (the first answer is the one kept). */
  async function rate(q: Question, questionId: string, score: number, via: 'button' | 'text' | 'link'): Promise<boolean> {
    if (q.score !== undefined) return false;
    const [outcome] = await deps.enqueue([job(q, { step: 'rate', questionId, score, via }, `csat:rate:${questionId}`)]);
    return outcome !== undefined && !outcome.duplicate;
  }

  function feedbackNote(q: Question, text: string): string {
    const cut = text.length > FEEDBACK_LIMIT ? `${text.slice(0, FEEDBACK_LIMIT)}… (shortened: ${text.length} characters in all)` : text;
    const score = q.score === undefined ? '' : ` after rating ${q.score}/${MAX_SCORE}`;
    return `Switchboard: the customer's answer to "what could we do better?"${score}:\n${cut}`;
  }

  async function feedback(q: Question, questionId: string, text: string): Promise<void> {
    await deps.enqueue([noteJob(q.ticketId, feedbackNote(q, text), `csat:feedback:${questionId}`)]);
  }

  /** The question as the channel can carry it: buttons, email links, or a number to type. */
  function questionReply(q: Question, questionId: string, via: ChannelEntry): ReplyToSend {
    const t = texts(q.language);
    const scores = Array.from({ length: MAX_SCORE - MIN_SCORE + 1 }, (_, i) => MIN_SCORE + i);
    const base = { files: [], replyId: `csat:${questionId}`, automatic: true };
    if (via.sends?.includes('buttons')) {
      return { ...base, text: t.question, choices: { options: scores.map((s) => ({ id: choiceId(questionId, s), label: `${s} ⭐` })), menu: t.menu, language: q.language } };
    }
    if (via.medium === 'email' && options.linkSecret && deps.publicUrl) {
      const expiresAt = Math.floor(now().getTime() / 1000) + options.answerHours * 3600;
      const links = scores.map((s) => ({ label: scoreLabel(s), url: `${deps.publicUrl}/csat/${linkToken(options.linkSecret!, { questionId, score: s, expiresAt })}` }));
      const text = `${t.question}\n\n${t.linksIntro}\n${links.map((l) => `${l.label}: ${l.url}`).join('\n')}\n\n${t.hint}`;
      const html = `<p>${escapeHtml(t.question)}</p><p>${escapeHtml(t.linksIntro)}</p><p>${links
        .map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a>`)
        .join('<br>')}</p><p>${escapeHtml(t.hint)}</p>`;
      return { ...base, text, html };
    }
    return { ...base, text: `${t.question}\n${t.hint}` };
  }

  function channelOf(id: string): ChannelEntry {
    const entry = deps.channels.get(id);
    if (!entry) throw new DeliveryError(`channel '${id}' is not configured any more`, { kind: 'permanent' });
    return entry;
  }

  function skip(channel: string, ticketId: string, reason: string): void {
    log.info({ ticketId, channel, reason }, 'no rating question for this ticket');
    deps.events?.skipped?.(channel, reason);
  }

  /** Best effort, like every step on the path: the rating is what matters. */
  async function onPath(q: Question, event: Omit<ConversationEvent, 'at' | 'ticketId'>): Promise<void> {
    await deps.history?.record(q.conversationKey, { at: now().getTime(), ticketId: q.ticketId, ...event })
      .catch((err: unknown) => log.warn({ err, ticketId: q.ticketId }, 'could not record a conversation event'));
  }

  async function tellAgents(ticketId: string, text: string, key: string): Promise<void> {
    await deps.enqueue([noteJob(ticketId, text, `note:csat:${key}`)]);
  }

  async function ask(p: Extract<CsatStep, { step: 'ask' }>): Promise<void> {
    const link = await deps.links.byTicket(p.ticketId);
    if (!link) {
      // Solved the moment it was created: the ticket's link comes with the record of the delivery that made it.
      const wait = await deps.linking?.untilLinked(p.ticketId, p.solvedAt);
      if (wait) throw wait;
      return skip('unknown', p.ticketId, 'no_conversation');
    }
    if (!optedIn(link.channelId)) return skip(link.channelId, p.ticketId, 'not_opted_in');
    const earlier = await records.askedWith(p.ticketId);
    if (earlier !== undefined && earlier !== p.questionId) return skip(link.channelId, p.ticketId, 'asked_before');
    const facts = await records.facts(p.ticketId);
    const tags = [...(facts?.tags ?? []), ...p.tags].map((t) => t.toLowerCase());
    if (!options.responsibleGaming.ask && tags.some((t) => rgTags.has(t))) return skip(link.channelId, p.ticketId, 'responsible_gaming');

    const at = nextAllowed(now(), { notBefore: p.solvedAt + options.delaySeconds * 1000, quiet: options.quietHours, timezone: deps.timezone });
    if (at > now().getTime()) throw new NotYet(at, 'the rating question waits for the delay after solved, or for the quiet hours to end');

    const settings = options.channels[link.channelId]!;
    const sentVia = settings.via ?? link.channelId;
    const via = channelOf(sentVia);
    const language = facts?.language ?? deps.defaultLanguage;
    let to: Conversation = link.conversation;
    if (settings.via) {
      const address = link.conversation.sender.email;
      if (!address) return skip(link.channelId, p.ticketId, 'no_email_address');
      const sender = { externalId: address.toLowerCase(), email: address, ...(link.conversation.sender.displayName ? { displayName: link.conversation.sender.displayName } : {}) };
      to = { channelId: sentVia, externalId: `csat-${p.ticketId}`, subject: texts(language).subject, sender };
    }
    const q: Question = {
      ticketId: p.ticketId,
      conversationKey: link.conversationKey,
      channelId: link.channelId,
      sentVia,
      to,
      replyKey: conversationKey(sentVia, to.externalId),
      requesterId: link.requesterId,
      language,
      topic: facts?.topic ?? 'other',
      ...(facts?.group ? { group: facts.group } : {}),
      askedAt: now().getTime(),
    };
    await records.markAsked(p.ticketId, p.questionId);
    await records.setQuestion(p.questionId, q);
    const question = questionReply(q, p.questionId, via);
    const result = await via.instance.send(to, question);
    const notes = result.notes ?? [];
    if (result.externalIds.length === 0) {
      await tellAgents(p.ticketId, `Switchboard did not ask the customer for a rating on ${sentVia}: ${notes.join(' ') || 'the channel sent nothing'}`, `unsent:${p.questionId}`);
      return skip(link.channelId, p.ticketId, 'not_sent');
    }
    await records.setOpen(q.replyKey, { questionId: p.questionId, phase: 'score', until: now().getTime() + options.answerHours * 3_600_000 });
    deps.events?.asked?.(labels(q));
    // The question's words, never the email's signed links.
    const form = question.choices ? 'buttons 1–5' : question.html ? 'five links' : 'a number to type';
    await onPath(q, { kind: 'question', text: `on ${sentVia} (${form}): ${excerpt(texts(language).question)}` });
    if (notes.length > 0) await tellAgents(p.ticketId, `Switchboard: about the rating question on ${sentVia}:\n- ${notes.join('\n- ')}`, `notes:${p.questionId}`);
  }

  async function rated(p: Extract<CsatStep, { step: 'rate' }>, ctx: AttemptContext): Promise<void> {
    const q = await records.question(p.questionId);
    if (!q) throw new DeliveryError(`rating for question ${p.questionId}, which the gateway has no record of`, { kind: 'permanent' });
    if (q.score !== undefined && q.score !== p.score) return log.info({ ticketId: q.ticketId }, 'this question was rated already; the first rating stands');
    const how = { button: 'with a button', text: 'by typing it', link: 'with the link in the email' }[p.via];
    const note = `Switchboard: the customer rated this ticket ${p.score}/${MAX_SCORE} ${'★'.repeat(p.score)}${'☆'.repeat(MAX_SCORE - p.score)} on ${q.sentVia}, ${how}.`;
    const rating = {
      score: p.score,
      requesterId: q.requesterId,
      tags: [`${options.tagPrefix}${p.score}`],
      fields: options.field ? { [options.field]: p.score } : {},
      note,
    };
    if (deps.helpdesk.recordRating) await deps.helpdesk.recordRating(q.ticketId, rating, ctx);
    else await deps.helpdesk.addPrivateNote(q.ticketId, note, ctx);
    const low = p.via !== 'link' && options.lowScore > 0 && p.score <= options.lowScore;
    if (q.score === undefined) {
      await records.setQuestion(p.questionId, { ...q, score: p.score });
      deps.events?.answered?.(labels(q), p.score);
      await onPath(q, { kind: 'rating', text: `${p.score}/${MAX_SCORE} ${how}${low ? '; asked what could be better' : ''}` });
    }
    if (p.via === 'link') return records.closeOpen(q.replyKey);
    const what = low ? 'followUp' : 'thanks';
    await deps.enqueue([job(q, { step: 'say', questionId: p.questionId, what }, `csat:say:${p.questionId}:${what}`)]);
    if (low) await records.setOpen(q.replyKey, { questionId: p.questionId, phase: 'feedback', until: now().getTime() + options.followUpMinutes * 60_000 });
    else await records.closeOpen(q.replyKey);
  }

  async function say(p: Extract<CsatStep, { step: 'say' }>): Promise<void> {
    const q = await records.question(p.questionId);
    if (!q) throw new DeliveryError(`message for question ${p.questionId}, which the gateway has no record of`, { kind: 'permanent' });
    const text = texts(q.language)[p.what];
    // In the customer's own conversation, what the gateway knows about it now (the answer may have reopened WhatsApp's window).
    const to = q.sentVia === q.channelId ? ((await deps.links.get(q.conversationKey))?.conversation ?? q.to) : q.to;
    await channelOf(q.sentVia).instance.send(to, { text, files: [], replyId: `csat:${p.questionId}:${p.what}`, automatic: true });
  }

  /** Reads the link and the question behind it; never throws for a bad link. */
  async function readLink(token: string): Promise<{ view: LinkView; q?: Question; questionId?: string }> {
    const language = deps.defaultLanguage;
    if (!options.linkSecret) return { view: { ok: false, status: 404, language, problem: 'invalid' } };
    const check = checkLinkToken(options.linkSecret, token, now().getTime());
    if (!check.ok) {
      const status = check.reason === 'expired' ? 410 : check.reason === 'forged' ? 403 : 400;
      return { view: { ok: false, status, language, problem: check.reason === 'expired' ? 'expired' : 'invalid' } };
    }
    const { questionId, score } = check.claims;
    const q = await records.question(questionId);
    if (!q) return { view: { ok: false, status: 404, language, problem: 'invalid' } };
    const askComment = options.lowScore > 0 && score <= options.lowScore;
    return { view: { ok: true, score, language: q.language, askComment, already: q.score !== undefined }, q, questionId };
  }

  return {
    /** Whether the rating question is on at all (some channel opted in). */
    active,

    /** What the rules said about a ticket, for the question's language, the metrics and the responsible-gaming check. */
    async remember(ticketId: string, at: { channelId: string; conversationKey: string; decision: Decision; language: Language }): Promise<void> {
      if (!optedIn(at.channelId)) return;
      const earlier = await records.facts(ticketId);
      const tags = [...new Set([...(earlier?.tags ?? []), ...at.decision.tags])].slice(0, 100);
      await records.setFacts(ticketId, {
        channelId: at.channelId,
        conversationKey: at.conversationKey,
        topic: topicOf(at.decision),
        ...((at.decision.group ?? earlier?.group) ? { group: at.decision.group ?? earlier?.group } : {}),
        tags,
        language: at.language,
      });
    },

    /** The helpdesk reported these tickets solved: one question each, ever (the job's key says so). */
    async solved(tickets: SolvedTicket[]): Promise<void> {
      if (!active) return;
      const jobs: NewJob[] = [];
      for (const t of tickets) {
        const link = await deps.links.byTicket(t.ticketId);
        if (link && !optedIn(link.channelId)) continue;
        const step: CsatStep = { step: 'ask', ticketId: t.ticketId, questionId: newId(), solvedAt: now().getTime(), tags: (t.tags ?? []).slice(0, 100) };
        const ask = job({ ticketId: t.ticketId, sentVia: link ? (options.channels[link.channelId]!.via ?? link.channelId) : '' }, step, `csat:ask:${t.ticketId}`);
        // Not linked yet (or not a gateway ticket at all): the ask step looks again and decides.
        jobs.push(link ? ask : { ...ask, target: 'csat' });
      }
      if (jobs.length > 0) await deps.enqueue(jobs);
    },

    /**
     * An inbound message that answers a question (a button, a typed score, the follow-up text) is
     * taken here and does not go to the helpdesk as a customer message. True when it was taken.
     */
    async intercept(messages: NormalizedMessage[]): Promise<boolean> {
      if (messages.length !== 1) return false;
      const m = messages[0]!;
      if (m.private) return false;
      const key = conversationKey(m.channel.id, m.conversation.externalId);
      if (m.choice !== undefined) {
        const picked = active ? parseChoice(m.choice) : undefined;
        // A button press the gateway did not ask for has nothing to tell the agents (a message
        // that carries a choice, like a WhatsApp quick reply of a marketing template, goes on).
        if (!picked) {
          if (m.kind === 'event') log.debug({ conversation: key }, 'a button press the gateway did not ask for; dropped');
          return m.kind === 'event';
        }
        const q = await records.question(picked.questionId);
        if (!q || q.replyKey !== key) {
          log.warn({ conversation: key }, 'a rating button for a question this conversation was not asked; dropped');
          return true;
        }
        await rate(q, picked.questionId, picked.score, 'button');
        return true;
      }
      if (!active || m.kind !== 'message' || m.attachments.length > 0) return false;
      const open = await records.open(key);
      if (!open || open.until < now().getTime()) return false;
      const q = await records.question(open.questionId);
      if (!q) return false;
      if (open.phase === 'score') {
        const score = parseScoreText(m.text);
        if (score === undefined) return false;
        await rate(q, open.questionId, score, 'text');
        return true;
      }
      const text = m.text.trim();
      if (text === '') return false;
      await feedback(q, open.questionId, text);
      await deps.enqueue([job(q, { step: 'say', questionId: open.questionId, what: 'feedbackThanks' }, `csat:say:${open.questionId}:feedbackThanks`)]);
      await records.closeOpen(key);
      return true;
    },

    /** Runs one step (the pipeline calls this for `csat` jobs). */
    run(step: CsatStep, ctx: AttemptContext): Promise<void> {
      switch (step.step) {
        case 'ask':
          return ask(step);
        case 'rate':
          return rated(step, ctx);
        case 'say':
          return say(step);
      }
    },

    /** GET of an email link: what the confirmation page shows. Writes nothing (mail scanners fetch links). */
    async viewLink(token: string): Promise<LinkView> {
      return (await readLink(token)).view;
    },

    /** POST of the confirmation form: records the rating once, and the comment as a private note. */
    async answerLink(token: string, comment: string): Promise<LinkView> {
      const { view, q, questionId } = await readLink(token);
      if (!view.ok || !q || !questionId) return view;
      if (comment.length > FEEDBACK_LIMIT) return { ok: false, status: 400, language: view.language, problem: 'tooLong' };
      const recorded = !view.already && (await rate(q, questionId, view.score, 'link'));
      if (recorded && comment.trim() !== '') await feedback({ ...q, score: view.score }, questionId, comment.trim());
      return { ...view, already: !recorded };
    },
  };
}
