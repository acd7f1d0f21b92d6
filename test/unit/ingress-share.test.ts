import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IngressShare } from '../../src/runtime/ingress-share.ts';

/** Webhook handlers that record when they started (they finish at once). */
function handlers() {
  const started: string[] = [];
  const handle = (name: string) => async () => {
    started.push(name);
    return name;
  };
  return { handle, started };
}

const FULL = 'full (503)';
const full = () => FULL;
/** Lets resolved turns run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/**
 * The turns webhooks take with the deliveries of their process when it is short of time: a cycle
 * of 100 ms, the first half for webhooks (next to the deliveries), the second half for the
 * deliveries alone.
 */
describe('ingress taking turns with deliveries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => vi.useRealTimers());

  it.each([
    ['no delivery is moving', { busy: (): boolean => false, deliveryShare: 0.5 }],
    ['the share is 0', { busy: (): boolean => true, deliveryShare: 0 }],
    // Deliveries at a helpdesk's pace leave the loop mostly idle: holding webhooks would only delay their answers.
    ['deliveries move but the process has time to spare', { busy: (): boolean => true, deliveryShare: 0.5, underPressure: (): boolean => false }],
  ])('handles every webhook as it comes when %s', async (_, opts) => {
    const share = new IngressShare({ underPressure: () => true, ...opts, cycleMs: 100, maxWaiting: 1 });
    const h = handlers();
    for (let t = 0; t < 300; t += 10) {
      void share.run('telegram', h.handle(`t${t}`), full);
      expect(h.started).toHaveLength(t / 10 + 1);
      await vi.advanceTimersByTimeAsync(10);
    }
  });

  it('while deliveries move, webhooks go in during their part of the cycle and wait through the deliveries\' part, then all go in, in the order they came', async () => {
    const share = new IngressShare({ underPressure: () => true, busy: () => true, deliveryShare: 0.5, cycleMs: 100 });
    const h = handlers();
    // The first webhook opens a cycle: 50 ms for webhooks.
    const first = share.run('telegram', h.handle('a'), full);
    await vi.advanceTimersByTimeAsync(49);
    const second = share.run('telegram', h.handle('b'), full);
    await settle();
    expect(h.started).toEqual(['a', 'b']);
    // The deliveries' 50 ms: webhooks wait.
    await vi.advanceTimersByTimeAsync(1);
    const waiting = ['c', 'd', 'e'].map((n) => share.run('telegram', h.handle(n), full));
    await vi.advanceTimersByTimeAsync(48);
    expect(h.started).toEqual(['a', 'b']);
    // The cycle ends: the waiting ones go in, and the next cycle starts with the webhooks' part.
    await vi.advanceTimersByTimeAsync(2);
    expect(h.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    const next = share.run('telegram', h.handle('f'), full);
    await settle();
    expect(h.started).toContain('f');
    expect(await Promise.all([first, second, ...waiting, next])).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('when the deliveries stop moving (done, or a helpdesk that hangs), the waiting webhooks go in at once and new ones do not wait', async () => {
    let busy = true;
    const share = new IngressShare({ underPressure: () => true, busy: () => busy, deliveryShare: 0.5, cycleMs: 100 });
    const h = handlers();
    void share.run('telegram', h.handle('opens'), full);
    await vi.advanceTimersByTimeAsync(60);
    void share.run('telegram', h.handle('waits'), full);
    await settle();
    expect(h.started).toEqual(['opens']);
    busy = false;
    void share.run('telegram', h.handle('after'), full);
    await settle();
    expect(h.started.toSorted()).toEqual(['after', 'opens', 'waits']);
  });

  it('gives the deliveries the configured part of each cycle, and no webhook waits longer than that part whatever the deliveries do', async () => {
    const share = new IngressShare({ underPressure: () => true, busy: () => true, deliveryShare: 0.9, cycleMs: 100 });
    const h = handlers();
    void share.run('telegram', h.handle('opens'), full);
    await vi.advanceTimersByTimeAsync(10);
    void share.run('telegram', h.handle('waits'), full);
    await vi.advanceTimersByTimeAsync(89);
    expect(h.started).toEqual(['opens']);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.started).toEqual(['opens', 'waits']);
  });

  it('refuses a webhook whose route has a full waiting line, without handling it; other routes\' lines are their own', async () => {
    const share = new IngressShare({ underPressure: () => true, busy: () => true, deliveryShare: 0.5, cycleMs: 100, maxWaiting: 2 });
    const h = handlers();
    void share.run('webform', h.handle('opens'), full);
    await vi.advanceTimersByTimeAsync(50);
    // An unsigned route's flood fills its own line…
    const flood = ['f1', 'f2', 'f3', 'f4'].map((n) => share.run('webform', h.handle(n), full));
    // …while the vendor's webhooks still get a place in theirs.
    const vendor = ['v1', 'v2'].map((n) => share.run('telegram', h.handle(n), full));
    const vendorOver = share.run('telegram', h.handle('v3'), full);
    expect(await flood[2]).toBe(FULL);
    expect(await flood[3]).toBe(FULL);
    expect(await vendorOver).toBe(FULL);
    await vi.advanceTimersByTimeAsync(50);
    // The lines take turns as they go in; the refused ones were never handled.
    expect(h.started).toEqual(['opens', 'f1', 'v1', 'f2', 'v2']);
    expect(await Promise.all([flood[0], flood[1], ...vendor])).toEqual(['f1', 'f2', 'v1', 'v2']);
  });

  it('a webhook that fails lets the others through and its caller hears the error', async () => {
    const share = new IngressShare({ underPressure: () => true, busy: () => true, deliveryShare: 0.5, cycleMs: 100 });
    const h = handlers();
    void share.run('telegram', h.handle('opens'), full);
    await vi.advanceTimersByTimeAsync(50);
    const failed = share.run('telegram', () => Promise.reject(new Error('bad update')), full);
    const next = share.run('telegram', h.handle('next'), full);
    const heard = expect(failed).rejects.toThrow('bad update');
    await vi.advanceTimersByTimeAsync(50);
    await heard;
    expect(await next).toBe('next');
  });
});
