import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptContext, HelpdeskInstance, TicketInput } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import type { NormalizedMessage } from '../../src/core/message.ts';
import { definition, JsonlOptions } from '../../connectors/helpdesks/jsonl/index.ts';
import { agentEvent } from '../fixtures/route.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { channelRef } from '../fixtures/channel-ref.ts';
import { silent } from '../fixtures/log.ts';
import { decision, message as baseMessage, ticketInput } from '../fixtures/message.ts';

const kv = memoryKv();

/** A web form submission by Dilnoza. */
const message = (id: string, text: string): NormalizedMessage => baseMessage({
  id, channel: { id: 'contact', kind: 'webform' }, kind: 'form', externalId: id, dedupeKey: id, conversation: { externalId: 'sub-1' },
  sender: { externalId: 'p@example.com', email: 'p@example.com', displayName: 'Dilnoza' }, text,
});

const input = (id: string, text: string): TicketInput => ticketInput({
  message: message(id, text),
  extra: [message(`${id}-b`, 'and a second line')],
  decision: decision({ priority: 'high', tags: ['payments'], type: 'question', group: 'payments', fields: { player_id: 'P-1' }, firedRules: ['withdrawal'] }),
  subject: 'Deposit',
  files: [{ name: 'receipt.pdf', mime: 'application/pdf', data: Buffer.from('%PDF-1.4') }],
  notes: ['Rules fired: withdrawal'],
});

const attempt = (key: string, reconcile = false): AttemptContext => ({ attempt: reconcile ? 2 : 1, reconcile, idempotencyKey: key });

describe('jsonl dry-run helpdesk', () => {
  let dir: string;
  const open = (options: Record<string, unknown> = {}): Promise<HelpdeskInstance> =>
    Promise.resolve(definition.create(JsonlOptions.parse(options), { log: silent, kv, dataDir: dir }));
  const lines = async (path = join(dir, 'dry-run.jsonl')) =>
    (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-jsonl-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one line per ticket, message and note, with what the helpdesk would have received', async () => {
    const hd = await open();
    const requester = await hd.upsertRequester(message('m1', '').sender, channelRef({ id: 'contact', kind: 'webform' }), attempt('job-1'));
    const ref = await hd.createTicket(input('m1', 'Депозит не зачислен'), requester, attempt('job-1'));
    await hd.appendMessage(ref.ticketId, input('m2', 'any news?'), requester, attempt('job-2'));
    await hd.addPrivateNote(ref.ticketId, 'reply not delivered', attempt('job-3'));

    expect(requester).toEqual({ id: 'email:p@example.com' });
    expect(ref).toEqual({ ticketId: '1', requesterId: 'email:p@example.com' });
    const all = await lines();
    expect(all.map((l) => l.op)).toEqual(['createTicket', 'appendMessage', 'addPrivateNote']);
    const [create, append, note] = all;
    expect(create).toMatchObject({
      op: 'createTicket',
      ticketId: '1',
      requester: { id: 'email:p@example.com', email: 'p@example.com', displayName: 'Dilnoza' },
      subject: 'Deposit',
      text: 'Депозит не зачислен\nand a second line',
      priority: 'high',
      tags: ['payments'],
      type: 'question',
      group: 'payments',
      fields: { player_id: 'P-1' },
      attachments: [{ name: 'receipt.pdf', mime: 'application/pdf', size: 8 }],
      notes: ['Rules fired: withdrawal'],
    });
    expect(Date.parse(String(create!.at))).not.toBeNaN();
    expect(append).toMatchObject({ op: 'appendMessage', ticketId: '1', text: 'any news?\nand a second line' });
    expect(note).toMatchObject({ op: 'addPrivateNote', ticketId: '1', notes: ['reply not delivered'] });
  });

  it('ticket numbers keep counting across restarts', async () => {
    const first = await open();
    expect((await first.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1'))).ticketId).toBe('1');
    expect((await first.createTicket(input('m2', 'b'), { id: 'r' }, attempt('job-2'))).ticketId).toBe('2');
    const second = await open();
    expect((await second.createTicket(input('m3', 'c'), { id: 'r' }, attempt('job-3'))).ticketId).toBe('3');
  });

  it('a retried call (same idempotency key) returns the same ticket and writes nothing, also after a restart', async () => {
    const hd = await open();
    const ref = await hd.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1'));
    expect(await hd.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1', true))).toEqual(ref);
    const restarted = await open();
    expect(await restarted.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1', true))).toEqual(ref);
    await restarted.appendMessage(ref.ticketId, input('m2', 'b'), { id: 'r' }, attempt('job-2'));
    await restarted.appendMessage(ref.ticketId, input('m2', 'b'), { id: 'r' }, attempt('job-2', true));
    expect((await lines()).map((l) => l.op)).toEqual(['createTicket', 'appendMessage']);
  });

  it('concurrent retries of one call write one line', async () => {
    const hd = await open();
    const refs = await Promise.all([1, 2, 3].map(() => hd.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1'))));
    expect(new Set(refs.map((r) => r.ticketId))).toEqual(new Set(['1']));
    expect(await lines()).toHaveLength(1);
  });

  it('a line cut short by a crash is skipped and the next line starts on its own', async () => {
    const path = join(dir, 'custom', 'out.jsonl');
    const hd = await open({ path });
    await hd.createTicket(input('m1', 'a'), { id: 'r' }, attempt('job-1'));
    await writeFile(path, `${await readFile(path, 'utf8')}{"at":"2025-01-01","op":"createTi`);
    const restarted = await open({ path });
    expect((await restarted.createTicket(input('m2', 'b'), { id: 'r' }, attempt('job-2'))).ticketId).toBe('2');
    const raw = (await readFile(path, 'utf8')).split('\n');
    expect(JSON.parse(raw.at(-2)!)).toMatchObject({ op: 'createTicket', ticketId: '2' });
  });

  it('has no agents: agent events are refused, there are no replies and no attachments', async () => {
    const hd = await open();
    const event = await agentEvent(hd, { method: 'POST', url: '/', headers: {}, query: {}, rawBody: Buffer.from('{}'), body: {}, files: [], ip: '127.0.0.1' });
    expect(event).toEqual({ ok: false, status: 401, error: 'the jsonl helpdesk has no agents' });
    expect(await hd.listAgentReplies('1')).toEqual([]);
    await expect(hd.fetchAttachment('http://x')).rejects.toBeInstanceOf(DeliveryError);
  });

  it('check names the file it writes to', async () => {
    const hd = await open();
    expect(await hd.check!()).toBe(`dry run: writing to ${join(dir, 'dry-run.jsonl')} (0 tickets so far)`);
  });
});
