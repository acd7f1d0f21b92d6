import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definition, JsonlOptions } from '../../connectors/helpdesks/jsonl/index.ts';
import type { JournalLine } from '../../connectors/helpdesks/jsonl/journal.ts';
import { helpdeskContract, type ContractTicket } from './helpdesk-contract.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';

/** The dry run keeps no tickets: the contract reads them back from the lines it wrote. */
helpdeskContract({
  name: 'jsonl',
  notApplicable: {
    agents: { refusal: /no agents/ },
    remote: true,
    ticketLifecycle: true,
    validation: true,
  },
  async start() {
    const root = await mkdtemp(join(tmpdir(), 'switchboard-contract-jsonl-'));
    let dir = '';
    let run = 0;
    let lines: JournalLine[] = [];
    const path = () => join(dir, 'dry-run.jsonl');
    const load = async () => {
      const text = await readFile(path(), 'utf8').catch(() => '');
      lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalLine);
    };
    const view = (id: string): ContractTicket | undefined => {
      const created = lines.find((l) => l.op === 'createTicket' && l.ticketId === id);
      if (!created) return undefined;
      const mine = lines.filter((l) => l.ticketId === id);
      const messages = mine.flatMap((l) => [
        ...(l.op === 'addPrivateNote' || l.op === 'addTags' || l.op === 'recordRating' ? [] : [{ text: l.text ?? '', public: true, byRequester: true, files: l.attachments.map((a) => ({ name: a.name, size: a.size })) }]),
        ...l.notes.map((n) => ({ text: n, public: false, byRequester: false, files: [] })),
      ]);
      return {
        id,
        requesterId: String(created.requester?.id),
        subject: created.subject,
        priority: created.priority,
        type: created.type,
        group: created.group,
        tags: [...new Set(mine.flatMap((l) => l.tags))],
        fields: created.fields,
        messages,
      };
    };
    // Every read goes through the file: the harness loads it before answering.
    const harness = {
      connect: async () => {
        const hd = await definition.create(JsonlOptions.parse({ path: path() }), { log: silent, kv: memoryKv(), dataDir: dir });
        const reload = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => async (...a: A) => {
          try {
            return await fn(...a);
          } finally {
            await load();
          }
        };
        return {
          ...hd,
          createTicket: reload(hd.createTicket),
          appendMessage: reload(hd.appendMessage),
          addPrivateNote: reload(hd.addPrivateNote),
          addTags: reload(hd.addTags),
          recordRating: reload(hd.recordRating!),
        };
      },
      ticket: view,
      tickets: () => lines.filter((l) => l.op === 'createTicket').map((l) => view(l.ticketId!)!),
      // The dry run keeps no requesters of its own: each ticket line carries its requester.
      requester: (id: string) => {
        const line = lines.find((l) => l.op === 'createTicket' && l.requester?.id === id);
        const r = line?.requester as Record<string, string | undefined> | undefined;
        return r && { id, name: r.displayName, email: r.email, phone: r.phone, externalId: r.externalId };
      },
      requesterCount: () => new Set(lines.filter((l) => l.op === 'createTicket').map((l) => l.requester?.id)).size,
      expected: { group: 'payments', fieldKey: 'player_id' },
      async reset() {
        dir = join(root, String(++run));
        await mkdir(dir, { recursive: true });
        lines = [];
      },
      close: () => rm(root, { recursive: true, force: true }),
      // The journal's file replaced by a directory: appending to it fails.
      async breakStorage() {
        await rm(path(), { force: true });
        await mkdir(path());
      },
    };
    return harness;
  },
});
