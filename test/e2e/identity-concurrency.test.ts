import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../src/core/identity/player-token.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { GatewayProcess, waitFor } from './harness.ts';

/**
 * Two conversations of one customer delivered at the same moment (join: open-ticket): the web
 * form of a signed-in player and their signed Telegram /start, posted together for several
 * players at once, against a slow Zendesk so the deliveries overlap. Each player gets one
 * ticket holding both messages: on the embedded store (one process, four workers) and on Redis
 * with two gateway processes taking the work between them.
 */

const TG_SECRET = CREDENTIALS.telegram.secret;
const LINK_SECRET = 'player-link-secret-concurrency-0123456789';
const PLAYERS = ['9101', '9102', '9103', '9104'];

const redisAvailable = redisAvailableOrExplain('the concurrent-join test on Redis');
const runtimes = [
  { name: 'embedded store, one process', processes: 1, redis: false },
  ...(redisAvailable ? [{ name: 'Redis, two gateway processes', processes: 2, redis: true }] : []),
];

describe.each(runtimes)('two conversations of one customer at the same moment: one ticket ($name)', ({ processes, redis }) => {
  const t = withGateway({
    fakes: { zendesk: true, telegram: true, ...(redis ? { redis: true as const } : {}) },
    env: { PLAYER_LINK_SECRET: LINK_SECRET },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, store: redis ? '{ kind: redis, url: "${REDIS_URL}", prefix: join }' : undefined })}
identity: { join: open-ticket }
${yaml.zendesk('  fields: { player_id: 900001 }')}
channels:
${yaml.telegram('telegram', '    playerLinkSecret: ${PLAYER_LINK_SECRET}')}
${yaml.site('    rateLimit: { perMinute: 100 }')}
`,
  });
  // The other processes on the same config (and the same Redis) take the work with the first.
  const gateways: GatewayProcess[] = [];
  beforeAll(async () => {
    gateways.push(t.gw);
    for (let i = 1; i < processes; i++) {
      const other = await GatewayProcess.sibling(t.configFile, t.env);
      await other.start();
      gateways.push(other);
    }
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    for (const gw of gateways.slice(1)) console.error(gw.output.slice(-8000));
    console.error(zd().tickets.map((t) => `ticket ${t.id} (requester ${t.requester_id}): ${t.comments.map((c) => c.body.slice(0, 60).replace(/\s+/g, ' ')).join(' | ')}`).join('\n'));
  });
  afterAll(async () => {
    for (const gw of gateways.slice(1)) await gw.stop();
  });
  const zd = () => t.fakes.zendesk;

  it('each player\'s form and Telegram /start, delivered together, land on one ticket of one user', async () => {
    // A slow Zendesk (every write answered after 300 ms): both conversations of a player are in flight at once.
    zd().failNext(1000, { status: 200, passThrough: true, delayMs: 300 });
    const gw = (i: number) => gateways[i % gateways.length]!;
    const posts = PLAYERS.flatMap((player, i) => [
      gw(i).post('/forms/site', { email: `p${player}@example.com`, player, message: `Не могу пройти верификацию, игрок ${player}` }),
      gw(i + 1).post('/webhooks/telegram', tgUpdate.text(Number(player), `/start ${signPlayerToken(player, LINK_SECRET, new Date(Date.now() + 3600_000))}`, {
        updateId: Number(player),
        messageId: Number(player),
        firstName: `Player${player}`,
      }), { 'x-telegram-bot-api-secret-token': TG_SECRET }),
    ]);
    for (const res of await Promise.all(posts)) expect(res.status).toBeLessThan(300);

    const has = (text: string) => zd().tickets.filter((t) => t.comments.some((c) => c.body.includes(text)));
    for (const player of PLAYERS) {
      await waitFor(`player ${player}'s form and /start`, () => has(`игрок ${player}`).length > 0 && has(`signed in as player ${player}`).length > 0, 30_000);
    }
    // What an agent sees: one ticket per player, holding both messages, one user per player.
    expect(zd().tickets).toHaveLength(PLAYERS.length);
    for (const player of PLAYERS) {
      const [form] = has(`игрок ${player}`);
      expect(has(`signed in as player ${player}`)).toEqual([form]);
      expect(zd().users.find((u) => u.id === form!.requester_id)?.external_id).toBe(player);
    }
    expect(zd().users.filter((u) => u.role === 'end-user')).toHaveLength(PLAYERS.length);
  }, 90_000);
});
