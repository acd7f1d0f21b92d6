import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Requesters have no line of their own: the ticket line carries its requester. */
export const JournalOp = z.enum(['createTicket', 'appendMessage', 'addPrivateNote', 'addTags', 'recordRating']);
export type JournalOp = z.infer<typeof JournalOp>;

/** One line of the dry-run file: what a real helpdesk would have been asked to do. */
export const JournalLine = z.object({
  at: z.string(),
  op: JournalOp,
  /** The delivery's idempotency key: a retried call with the same op and key is not written again. */
  key: z.string(),
  messageId: z.string().nullable(),
  ticketId: z.string().nullable(),
  followUpOf: z.string().nullable(),
  requester: z.record(z.string(), z.unknown()).nullable(),
  subject: z.string().nullable(),
  text: z.string().nullable(),
  priority: z.string().nullable(),
  tags: z.array(z.string()),
  type: z.string().nullable(),
  group: z.string().nullable(),
  fields: z.record(z.string(), z.unknown()),
  attachments: z.array(z.object({ name: z.string(), mime: z.string(), size: z.number() })),
  notes: z.array(z.string()),
  /** The message is a private note for the agents (a call log), not the customer's comment. */
  private: z.boolean().optional(),
  /** recordRating: the customer's rating, 1–5. */
  score: z.number().int().optional(),
});
export type JournalLine = z.infer<typeof JournalLine>;

/**
 * The append-only dry-run file and what it already holds: the last ticket number (so numbers
 * keep counting up across restarts) and every op+key written (so retries write nothing twice).
 */
export class Journal {
  readonly path: string;
  #lastTicket = 0;
  readonly #written = new Map<string, JournalLine>();

  private constructor(path: string) {
    this.path = path;
  }

  static async open(path: string): Promise<Journal> {
    const journal = new Journal(path);
    await mkdir(dirname(path), { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let parsed: ReturnType<typeof JournalLine.safeParse>;
      try {
        parsed = JournalLine.safeParse(JSON.parse(raw));
      } catch {
        continue; // a line cut short by a crash
      }
      if (parsed.success) journal.#remember(parsed.data);
    }
    // A crash mid-write can leave a line without its newline; never glue the next one onto it.
    if (text.length > 0 && !text.endsWith('\n')) await appendFile(path, '\n');
    return journal;
  }

  #remember(line: JournalLine): void {
    this.#written.set(`${line.op}:${line.key}`, line);
    const n = Number(line.ticketId);
    if (line.op === 'createTicket' && Number.isSafeInteger(n) && n > this.#lastTicket) this.#lastTicket = n;
  }

  get ticketCount(): number {
    return this.#lastTicket;
  }

  /** The line an earlier call with this op and key wrote, if any. */
  find(op: JournalOp, key: string): JournalLine | undefined {
    return this.#written.get(`${op}:${key}`);
  }

  nextTicketId(): string {
    this.#lastTicket += 1;
    return String(this.#lastTicket);
  }

  /** Remembered before the write resolves, so a concurrent retry of the same call finds it. */
  async append(line: JournalLine): Promise<void> {
    this.#remember(line);
    try {
      await appendFile(this.path, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.#written.delete(`${line.op}:${line.key}`);
      throw err;
    }
  }
}
