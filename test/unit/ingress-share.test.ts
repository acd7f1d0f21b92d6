import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultWebhooksAtOnce, IDLE_DELIVERIES_AFTER_MS, IngressShare } from '../../src/runtime/ingress-share.ts';

/** A webhook handler the test finishes by hand; it records how many ran at once when it started. */
function handlers() {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const handle = (i: number) => () =>
    new Promise<number>((resolve) => {
      running++;
      most = Math.max(most, running);
      started.push(i);
      finish.set(i, () => {
        running--;
        resolve(i);
      });
    });
  return { handle, started, finish: (i: number) => finish.get(i)!(), most: () => most };
}

const turn = () => new Promise((r) => setImmediate(r));

/** The gate in front of webhook handlers while deliveries run in the same process. */
describe('ingress taking turns with deliveries', () => {
  afterEach(() => vi.useRealTimers());

  it('handles every webhook at once when no delivery is moving', async () => {
    const share = new IngressShare({ busy: () => false, atOnce: 2 });
    const h = handlers();
    const all = Array.from({ length: 10 }, (_, i) => share.run(h.handle(i)));
    await turn();
    expect(h.started).toHaveLength(10);
    for (let i = 0; i < 10; i++) h.finish(i);
    expect(await Promise.all(all)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('while deliveries move, handles at most `atOnce` webhooks at once, each in its turn, in the order they came', async () => {
    const share = new IngressShare({ busy: () => true, atOnce: 2 });
    const h = handlers();
    const all = Array.from({ length: 7 }, (_, i) => share.run(h.handle(i)));
    await turn();
    expect(h.started).toEqual([0, 1]);
    // Each answer lets the next waiting webhook in.
    for (let i = 0; i < 7; i++) {
      h.finish(i);
      await turn();
    }
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h.started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h.most()).toBe(2);
  });

  it('once the deliveries are done, the waiting webhooks all go ahead, and a new one does not wait', async () => {
    let busy = true;
    const share = new IngressShare({ busy: () => busy, atOnce: 1 });
    const h = handlers();
    const waiting = Array.from({ length: 5 }, (_, i) => share.run(h.handle(i)));
    await turn();
    expect(h.started).toEqual([0]);
    busy = false;
    h.finish(0);
    await turn();
    expect(h.started).toEqual([0, 1, 2, 3, 4]);
    const late = share.run(h.handle(5));
    await turn();
    expect(h.started).toContain(5);
    for (let i = 1; i < 6; i++) h.finish(i);
    await Promise.all([...waiting, late]);
  });

  it('a webhook that fails frees its turn for the next one and its caller hears the error', async () => {
    const share = new IngressShare({ busy: () => true, atOnce: 1 });
    const h = handlers();
    const failed = share.run(() => Promise.reject(new Error('bad update')));
    const next = share.run(h.handle(1));
    await expect(failed).rejects.toThrow('bad update');
    await turn();
    expect(h.started).toEqual([1]);
    h.finish(1);
    expect(await next).toBe(1);
  });

  it('by default lets in a quarter of the deliveries\' concurrency, an eighth on Redis, and never none', () => {
    expect(defaultWebhooksAtOnce(8, 'embedded')).toBe(2);
    expect(defaultWebhooksAtOnce(8, 'redis')).toBe(1);
    expect(defaultWebhooksAtOnce(64, 'redis')).toBe(8);
    expect(defaultWebhooksAtOnce(1, 'embedded')).toBe(1);
  });

  it('handlers that all wait on something else (none finishes for a while) do not hold the waiting ones back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const share = new IngressShare({ busy: () => true, atOnce: 2 });
    const h = handlers();
    const all = Array.from({ length: 6 }, (_, i) => share.run(h.handle(i)));
    await turn();
    expect(h.started).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(IDLE_DELIVERIES_AFTER_MS + 1);
    await turn();
    expect(h.started).toEqual([0, 1, 2, 3, 4, 5]);
    for (let i = 0; i < 6; i++) h.finish(i);
    await Promise.all(all);
  });
});
