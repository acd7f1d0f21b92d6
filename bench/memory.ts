import autocannon from 'autocannon';
import { startRedis } from '../test/fakes/redis-server.ts';
import { gatewayYaml, loadAverage, rssMb, sampleRss, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Store } from './lib.ts';

/**
 * Resident memory of one gateway process: idle (5 s after start, nothing received yet) and its
 * peak while taking 1,000 webhooks a second for 10 s and delivering them to a helpdesk that
 * answers at once. Measured with Node's defaults and with a capped young generation
 * (`--max-semi-space-size=4`, what docker-compose.yml sets), which is most of the difference.
 */

export interface MemoryRun {
  setup: string;
  flags: string;
  idleMb: number;
  loadPeakMb: number;
  load: string;
}

export const SEMI_SPACE_FLAG = '--max-semi-space-size=4';
let serial = 20_000_000;

async function one(setup: string, store: Store, flags: string[]): Promise<MemoryRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  try {
    const gw = await startGateway({ dir: dir.path, yaml: gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: 8 }), nodeFlags: flags, shippedFlags: false });
    try {
      await sleep(5000);
      const idleMb = rssMb(gw.pid);
      const sampler = sampleRss(gw.pid);
      await autocannon({
        url: gw.url,
        connections: 20,
        overallRate: 1000,
        duration: 10,
        requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, 2000) }) }],
      });
      await sleep(1000);
      return { setup, flags: flags.join(' ') || '(Node defaults)', idleMb, loadPeakMb: sampler.stop(), load: loadAverage() };
    } finally {
      await gw.stop();
    }
  } finally {
    await hd.stop();
    await dir.remove();
  }
}

export async function memoryBench(): Promise<MemoryRun[]> {
  const runs: MemoryRun[] = [];
  for (const flags of [[], [SEMI_SPACE_FLAG]]) {
    const dir = await tempDir();
    try {
      runs.push(await one('embedded store, one process', { kind: 'embedded', path: `${dir.path}/data` }, flags));
    } finally {
      await dir.remove();
    }
    const redis = await startRedis();
    try {
      runs.push(await one('Redis, one process (--role all)', { kind: 'redis', url: redis.url }, flags));
    } finally {
      await redis.close();
    }
  }
  return runs;
}
