import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cpuWaitMeter } from '../../src/runtime/cpu-wait.ts';
import { IngressShare } from '../../src/runtime/ingress-share.ts';
import { KEEP_WAIT, OWN_WAIT, reportWorkersShort, SHORT_WAIT, workersShort, yieldToShortWorkers, type ShortBoard, type WorkerLoad } from '../../src/runtime/workers-short.ts';

/** The board as Redis keeps it: a flag that expires; counts the reads and writes. */
function board() {
  let until = 0;
  const b = {
    raises: 0,
    reads: 0,
    failReads: false,
    raise: async (ttlMs: number) => {
      b.raises++;
      until = Date.now() + ttlMs;
    },
    raised: async () => {
      b.reads++;
      if (b.failReads) throw new Error('Redis away');
      return Date.now() < until;
    },
  };
  return b satisfies ShortBoard & Record<string, unknown>;
}

const behindAndMoving: WorkerLoad = { busy: true, behind: true };

describe('a worker process says it is short of CPU', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date', 'performance'] });
  });
  afterEach(() => vi.useRealTimers());

  it.each([
    ['there is no worker (an ingress process)', undefined, SHORT_WAIT + 0.3],
    ['no delivery is moving', { busy: false, behind: true }, 0.9],
    ['nothing waits for it (no backlog, slots to spare)', { busy: true, behind: false }, 0.9],
    ['its loop waited little for a CPU (it has the CPU it needs, or waits on the helpdesk)', behindAndMoving, SHORT_WAIT - 0.05],
    ['the system has no scheduler counters', behindAndMoving, undefined],
  ])('says nothing when %s', async (_, load, waited) => {
    const b = board();
    const report = reportWorkersShort(b, () => load, { cycleMs: 100, waited: () => waited });
    await vi.advanceTimersByTimeAsync(1000);
    report.stop();
    expect(b.raises).toBe(0);
  });

  it('raises the flag once a cycle while it delivers with work waiting and its loop waits for a CPU, and the flag lapses soon after', async () => {
    const b = board();
    let waited = 0.5;
    const report = reportWorkersShort(b, () => behindAndMoving, { cycleMs: 100, waited: () => waited });
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.raises).toBe(10);
    expect(await b.raised()).toBe(true);
    // The ingress backed off and the worker waits less, but still some: it stays short (else the
    // ingress would stop yielding and the worker would be short again a moment later).
    waited = KEEP_WAIT;
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.raises).toBe(20);
    // It has its CPU back: it says nothing more, and the flag lapses.
    waited = KEEP_WAIT - 0.05;
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.raises).toBe(20);
    expect(await b.raised()).toBe(false);
    // Short again takes SHORT_WAIT, not KEEP_WAIT.
    waited = KEEP_WAIT;
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.raises).toBe(20);
    report.stop();
  });
});

describe('an ingress process reads whether workers are short', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => vi.useRealTimers());

  it('reads the board at most once a cycle however many webhooks ask, and answers with the last read', async () => {
    const b = board();
    const short = workersShort(b, { cycleMs: 100 });
    expect(short()).toBe(false);
    await b.raise(10_000);
    for (let i = 0; i < 50; i++) short();
    await vi.advanceTimersByTimeAsync(0);
    // The one read of the first cycle saw no flag yet; the raise is seen from the next read on.
    expect(b.reads).toBe(1);
    expect(short()).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    short();
    await vi.advanceTimersByTimeAsync(0);
    expect(short()).toBe(true);
    expect(b.reads).toBe(2);
  });

  it('takes a board it cannot read as nobody short (webhooks are not held for it)', async () => {
    const b = board();
    await b.raise(10_000);
    b.failReads = true;
    const short = workersShort(b, { cycleMs: 100 });
    short();
    await vi.advanceTimersByTimeAsync(0);
    expect(short()).toBe(false);
  });

  it('yields only once it waited for a CPU itself (it shares cores with the workers), and then while they stay short', () => {
    let short = true;
    let own: number | undefined = 0;
    const yielding = yieldToShortWorkers(() => short, () => own);
    // On cores of its own (or no counters): nothing it leaves would reach the workers.
    expect(yielding()).toBe(false);
    own = undefined;
    expect(yielding()).toBe(false);
    own = OWN_WAIT;
    expect(yielding()).toBe(true);
    // Yielding, it waits for a CPU less: it goes on while the workers are short.
    own = 0;
    expect(yielding()).toBe(true);
    short = false;
    expect(yielding()).toBe(false);
    // The next time the workers are short it needs to have waited again.
    short = true;
    expect(yielding()).toBe(false);
    // Workers not short: it does not yield however long it waited.
    short = false;
    own = 0.9;
    expect(yielding()).toBe(false);
  });

  /** An ingress-only process as the Redis runtime sets it up (no deliveries of its own), on cores it shares. */
  const ingressOnly = (b: ShortBoard, maxWaiting = 100) => {
    const short = workersShort(b, { cycleMs: 100 });
    return new IngressShare({ busy: short, underPressure: yieldToShortWorkers(short, () => OWN_WAIT), deliveryShare: 0.5, cycleMs: 100, maxWaiting });
  };

  /** Webhooks every 10 ms for a second: how many were held back (started after they came), answered, refused. */
  async function storm(share: IngressShare) {
    let held = 0;
    const answers: Promise<string>[] = [];
    for (let t = 0; t < 1000; t += 10) {
      const came = performance.now();
      answers.push(share.run('telegram', async () => {
        if (performance.now() > came) held++;
        return 'ok';
      }, () => '503'));
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(200);
    const results = await Promise.all(answers);
    return { held, refused: results.filter((r) => r === '503').length, acked: results.filter((r) => r === 'ok').length };
  }

  it('does not hold webhooks while no worker is short', async () => {
    const b = board();
    expect(await storm(ingressOnly(b))).toEqual({ held: 0, refused: 0, acked: 100 });
    // With no room to wait, any webhook held would be refused: none is.
    expect(await storm(ingressOnly(b, 0))).toEqual({ held: 0, refused: 0, acked: 100 });
  });

  it('while a worker is short, holds webhooks for the deliveries\' part of each cycle; each is answered, and beyond the line\'s cap refused with 503', async () => {
    const b = board();
    await b.raise(60_000);
    const patient = await storm(ingressOnly(b));
    // Every webhook was answered (the held ones when their cycle ended), none refused.
    expect(patient).toMatchObject({ refused: 0, acked: 100 });
    expect(patient.held).toBeGreaterThan(0);
    const strict = await storm(ingressOnly(b, 0));
    // With no room to wait, those that came in the deliveries' parts are refused; the rest went in.
    expect(strict.refused).toBeGreaterThan(0);
    expect(strict.acked).toBeGreaterThan(0);
    expect(strict.refused + strict.acked).toBe(100);
  });
});

describe.runIf(existsSync('/proc/thread-self/schedstat'))('the CPU wait meter (Linux)', () => {
  it('gives the part of the time the loop waited for a CPU: a share, from 0 up', () => {
    const waited = cpuWaitMeter();
    const until = performance.now() + 20;
    while (performance.now() < until) {
      // busy: the thread runs or waits for a CPU the whole time
    }
    const share = waited();
    expect(share).toBeGreaterThanOrEqual(0);
    expect(share).toBeLessThanOrEqual(1.5);
  });
});
