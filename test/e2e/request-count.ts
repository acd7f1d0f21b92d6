import { tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { closeFakes, CREDENTIALS, fakeEnv, launchGateway, settled, startFakes, yaml, type FakeServers } from '../fixtures/gateway.ts';
import { type GatewayProcess, waitFor } from './harness.ts';

/**
 * How many helpdesk requests each kind of customer message costs, with the shipped rules
 * (config/rules/igaming.yaml): the real `switchboard start` process, a fake Telegram, and each
 * fake helpdesk (real HTTP servers that record every request they get). Each step sends one
 * Telegram update, waits until the gateway has nothing queued or in flight, and counts what
 * reached the helpdesk meanwhile. Used by test/e2e/request-budget.test.ts and `npm run bench`.
 */

export type HelpdeskKind = 'zendesk' | 'freshdesk' | 'usedesk';
export const HELPDESK_KINDS: readonly HelpdeskKind[] = ['zendesk', 'freshdesk', 'usedesk'];

export interface Step {
  /** What kind of message, in words. */
  name: string;
  /** The most it may cost on this helpdesk; absent where the line is reported, not promised. */
  budget?: number;
  requests: number;
  /** `METHOD path` of each request, in order. */
  calls: string[];
}

/** What a step reads from one fake helpdesk. */
interface HelpdeskView {
  calls(): string[];
  /** Every message text the helpdesk holds (ticket descriptions and comments). */
  texts(): string[];
  /** Each ticket's tags, oldest ticket first. */
  tags(): string[][];
}

const GROUP_IDS = [101, 102, 103, 104, 105, 106];

/** The fake helpdesk of `kind`, its `helpdesk:` block and what a step reads from it. */
async function fakeHelpdesk(kind: HelpdeskKind): Promise<{ fakes: Partial<FakeServers>; yaml: string; view: HelpdeskView }> {
  if (kind === 'zendesk') {
    const fakes = await startFakes({ zendesk: true });
    const zd = fakes.zendesk;
    return {
      fakes,
      yaml: yaml.zendesk(`  groups: ${yaml.groups}\n  fields: { player_id: 900001 }`),
      view: {
        calls: () => zd.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`),
        texts: () => zd.tickets.flatMap((t) => t.comments.map((c) => c.body)),
        tags: () => zd.tickets.map((t) => t.tags),
      },
    };
  }
  if (kind === 'freshdesk') {
    const fakes = await startFakes({ freshdesk: { groups: GROUP_IDS, customFields: ['cf_player_id'] } });
    const fd = fakes.freshdesk;
    return {
      fakes,
      yaml: yaml.freshdesk(`  groups: ${yaml.groups}\n  fields: { player_id: cf_player_id }`),
      view: {
        calls: () => fd.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`),
        texts: () => fd.tickets.flatMap((t) => [t.description_text, ...t.conversations.map((c) => c.body_text)]),
        tags: () => fd.tickets.map((t) => t.tags),
      },
    };
  }
  const fakes = await startFakes({ usedesk: { groups: GROUP_IDS, fields: [901] } });
  const ud = fakes.usedesk;
  return {
    fakes,
    yaml: yaml.usedesk(ud.apiChannelId, `  groups: ${yaml.groups}\n  fields: { player_id: 901 }`),
    view: {
      calls: () => ud.requests.map((r) => `POST ${r.method}`),
      texts: () => ud.tickets.flatMap((t) => t.comments.map((c) => c.message)),
      tags: () => ud.tickets.map((t) => t.tags),
    },
  };
}

function configYaml(dataDir: string, helpdesk: string): string {
  return `
${yaml.base({ dataDir, log: 'warn', delivery: '{ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 4 }' })}
timezone: Asia/Tashkent
${helpdesk}
channels:
${yaml.telegram()}
${yaml.igaming}
`;
}

/** Everything a message caused is done (the shared `settled()`), and none of it was dead-lettered. */
async function idle(gw: GatewayProcess): Promise<void> {
  await settled(gw);
  const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  const dead = Number(/^switchboard_dead_letters (\S+)$/m.exec(text)?.[1] ?? NaN);
  if (dead > 0) throw new Error(`a job was dead-lettered: ${gw.output.slice(-2000)}`);
}

const ALICE = 610001;
const BOB = 610002;
const GROUP_CHAT = -1001610001;
const OTHER_GROUP_CHAT = -1001610002;

const every = (n: number): Record<HelpdeskKind, number> => ({ zendesk: n, freshdesk: n, usedesk: n });
/**
 * A customer the gateway has never met: Zendesk's create_or_update and Freshdesk's create (a
 * duplicate answers with the contact's id) find or make the user in one request; Usedesk has no
 * find-or-create for a client known by a messenger id, so it searches first (once per customer).
 */
const NEW_CUSTOMER = { ...every(2), usedesk: 3 };

/** A step: who writes in which chat (a private chat is the customer's id; a group is another conversation). */
interface StepSpec {
  name: string;
  budget?: Record<HelpdeskKind, number>;
  chat: number;
  from: { id: number; name: string };
  text: string;
  /** Sent as a photo with `text` as its caption. */
  photo?: boolean;
}

const ALISHER = { id: ALICE, name: 'Alisher' };
const BOBUR = { id: BOB, name: 'Bobur' };

/** The steps, in order: each one's conversation state is what the steps before it left. */
const STEPS: StepSpec[] = [
  { name: 'new conversation, new customer', budget: NEW_CUSTOMER, chat: ALICE, from: ALISHER, text: 'Здравствуйте, вывод не пришёл уже 3 дня' },
  { name: 'follow-up, same topic', budget: every(1), chat: ALICE, from: ALISHER, text: 'Вывод так и не пришёл, помогите' },
  { name: 'follow-up with a photo (same topic)', chat: ALICE, from: ALISHER, text: 'Чек о выводе', photo: true },
  { name: 'new conversation, known customer, another topic', budget: every(2), chat: GROUP_CHAT, from: ALISHER, text: 'А ещё бонус за депозит не начислили' },
  { name: 'new conversation, known customer, same topic (joins the open ticket, with a note)', budget: every(2), chat: OTHER_GROUP_CHAT, from: ALISHER, text: 'Вывод до сих пор не пришёл' },
  { name: 'new conversation, another new customer', budget: NEW_CUSTOMER, chat: BOB, from: BOBUR, text: 'Не начислился бонус' },
  { name: 'follow-up, another topic with a higher priority (new tags, priority raised)', chat: BOB, from: BOBUR, text: 'И вывод не проходит' },
  { name: 'follow-up without a topic ("thanks": the catch-all rule is for first messages only)', chat: BOB, from: BOBUR, text: 'Спасибо, жду' },
];

function updateOf(step: StepSpec, tg: FakeTelegram, n: number): Record<string, unknown> {
  const o = { updateId: n, firstName: step.from.name, userId: step.from.id };
  if (!step.photo) return tgUpdate.text(step.chat, step.text, o);
  tg.addFile(`receipt-${n}`, Buffer.from('\x89PNG\r\n\x1a\nreceipt'), `photos/receipt-${n}.png`);
  return tgUpdate.photo(step.chat, { fileId: `receipt-${n}`, size: 15 }, { ...o, caption: step.text });
}

export interface Count {
  steps: Step[];
  /** Each ticket's tags at the end, oldest ticket first. */
  tickets: string[][];
}

/** Runs every step against one helpdesk and returns what each cost. */
export async function countRequests(kind: HelpdeskKind): Promise<Count> {
  const { telegram } = await startFakes({ telegram: true });
  const { fakes, yaml: helpdesk, view: hd } = await fakeHelpdesk(kind);
  const launched = await launchGateway(({ dataDir }) => configYaml(dataDir, helpdesk), fakeEnv({ telegram, ...fakes }), 'switchboard-count-').catch(async (err: unknown) => {
    await closeFakes({ telegram, ...fakes });
    throw err;
  });
  const { gw } = launched;
  try {
    const steps: Step[] = [];
    for (const [i, step] of STEPS.entries()) {
      const before = hd.calls().length;
      const answer = await gw.post('/webhooks/telegram', updateOf(step, telegram, 900_000 + i), { 'x-telegram-bot-api-secret-token': CREDENTIALS.telegram.secret });
      if (answer.status !== 200) throw new Error(`${step.name}: the webhook answered ${answer.status} ${answer.body}`);
      await waitFor(`"${step.text}" in ${kind}`, () => hd.texts().some((t) => t.includes(step.text)));
      await idle(gw);
      const calls = hd.calls().slice(before);
      steps.push({ name: step.name, ...(step.budget ? { budget: step.budget[kind] } : {}), requests: calls.length, calls });
    }
    return { steps, tickets: hd.tags() };
  } finally {
    await launched.stop();
    await closeFakes({ telegram, ...fakes });
  }
}
