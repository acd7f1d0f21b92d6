import Fastify from 'fastify';

/**
 * The ceiling: a bare Fastify route that parses the same webhook JSON and answers 200,
 * storing nothing. Runs as its own process: `node bench/bare-server.ts` prints its URL.
 */
const app = Fastify({ logger: false });
app.post('/webhooks/telegram', async (req) => {
  const update = req.body as { update_id?: number };
  return { ok: typeof update?.update_id === 'number' };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url: address }));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
