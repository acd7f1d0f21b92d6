import { access, constants } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AttemptContext, HelpdeskContext, HelpdeskInstance, TicketInput } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { Sender } from '../../../src/core/message.ts';
import { Journal, type JournalLine, type JournalOp } from './journal.ts';
import type { JsonlOptions } from './options.ts';

const EMPTY: Omit<JournalLine, 'at' | 'op' | 'key'> = {
  messageId: null,
  ticketId: null,
  followUpOf: null,
  requester: null,
  subject: null,
  text: null,
  priority: null,
  tags: [],
  type: null,
  group: null,
  fields: {},
  attachments: [],
  notes: [],
};

function ticketLine(input: TicketInput): Partial<JournalLine> {
  return {
    messageId: input.message.id,
    followUpOf: input.followUpOf ?? null,
    subject: input.subject,
    text: [input.message, ...input.extra].map((m) => m.text).filter((t) => t.trim()).join('\n'),
    priority: input.decision.priority ?? null,
    tags: input.decision.tags,
    type: input.decision.type ?? null,
    group: input.decision.group ?? null,
    fields: input.decision.fields,
    attachments: input.files.map((f) => ({ name: f.name, mime: f.mime, size: f.data.length })),
    notes: input.notes,
    ...(input.private ? { private: true } : {}),
  };
}

function requesterId(sender: Sender, channel: { id: string }): string {
  return sender.email ? `email:${sender.email.toLowerCase()}` : `${channel.id}:${sender.externalId}`;
}

/** The dry-run helpdesk: every call becomes one JSON line in a file, nothing leaves the machine. */
export async function createJsonlHelpdesk(options: JsonlOptions, ctx: HelpdeskContext): Promise<HelpdeskInstance> {
  const path = options.path ? resolve(options.path) : join(ctx.dataDir, 'dry-run.jsonl');
  const journal = await Journal.open(path);
  const log = ctx.log.child({ helpdesk: 'jsonl' });

  /** Writes the line unless this op already ran under this key; returns the line that stands. */
  async function record(op: JournalOp, attempt: AttemptContext, fields: Partial<JournalLine>, ticketId?: () => string): Promise<JournalLine> {
    const earlier = journal.find(op, attempt.idempotencyKey);
    if (earlier) {
      log.info({ op, ticketId: earlier.ticketId }, 'already written by an earlier attempt; not writing again');
      return earlier;
    }
    const line: JournalLine = {
      ...EMPTY,
      ...fields,
      at: new Date().toISOString(),
      op,
      key: attempt.idempotencyKey,
      ...(ticketId ? { ticketId: ticketId() } : {}),
    };
    try {
      await journal.append(line);
    } catch (err) {
      throw new DeliveryError(`dry run: cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, { kind: 'retry', cause: err });
    }
    return line;
  }

  return {
    kind: 'jsonl',

    // Nothing to write: the ticket line carries its requester, so the file has one line per ticket.
    async upsertRequester(sender, channel) {
      return { id: requesterId(sender, channel) };
    },

    async createTicket(input, requester, attempt) {
      const who = { id: requester.id, channel: input.message.channel.id, ...input.message.sender };
      const line = await record('createTicket', attempt, { ...ticketLine(input), requester: who }, () => journal.nextTicketId());
      return { ticketId: line.ticketId!, requesterId: requester.id };
    },

    async appendMessage(ticketId, input, requester, attempt) {
      await record('appendMessage', attempt, { ...ticketLine(input), ticketId, requester: { id: requester.id } });
      return { ticketId, requesterId: requester.id };
    },

    async addPrivateNote(ticketId, text, attempt) {
      await record('addPrivateNote', attempt, { ticketId, notes: [text] });
    },

    // Nobody may post agent events: refused before the body is read.
    agentEventGuard: { head: () => ({ status: 401, body: { error: 'the jsonl helpdesk has no agents' } }) },
    async addTags(ticketId, tags, attempt) {
      await record('addTags', attempt, { ticketId, tags });
    },

    async recordRating(ticketId, rating, attempt) {
      await record('recordRating', attempt, { ticketId, score: rating.score, tags: rating.tags, fields: rating.fields, notes: [rating.note] });
    },

    async verifyAgentEvent() {
      return { ok: false, status: 401, error: 'the jsonl helpdesk has no agents' };
    },

    async listAgentReplies() {
      return [];
    },

    async fetchAttachment() {
      throw new DeliveryError('the jsonl helpdesk has no attachments to fetch', { kind: 'permanent' });
    },

    async check() {
      await access(dirname(path), constants.W_OK);
      return `dry run: writing to ${path} (${journal.ticketCount} tickets so far)`;
    },
  };
}
