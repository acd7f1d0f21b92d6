import { describe, expect, it } from 'vitest';
import { IngressShare } from '../../src/runtime/ingress-share.ts';

/** The gate in front of webhook handlers while deliveries run in the same process. */
describe('ingress sharing the event loop with deliveries', () => {
  it('lets a webhook through at once when no delivery is in flight', () => {
    const share = new IngressShare({ busy: () => false });
    expect(share.admit()).toBeUndefined();
  });

  it('with deliveries in flight, lets every waiting webhook through, in the order they came', async () => {
    let busy = true;
    const share = new IngressShare({ busy: () => busy, minBudgetMs: 0 });
    const order: number[] = [];
    const admitted = Array.from({ length: 300 }, (_, i) =>
      (share.admit() ?? Promise.resolve()).then(() => {
        // Each handler costs a little, so the budget runs out within a turn.
        const until = performance.now() + 0.05;
        while (performance.now() < until);
        order.push(i);
      }),
    );
    await Promise.all(admitted);
    expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // Then the deliveries finish: nothing waits any more.
    busy = false;
    expect(share.admit()).toBeUndefined();
  });

  it('a webhook arriving while others wait queues behind them even once deliveries are done', async () => {
    let busy = true;
    const share = new IngressShare({ busy: () => busy });
    const order: string[] = [];
    const first = share.admit()!.then(() => order.push('first'));
    busy = false;
    const second = share.admit();
    expect(second).toBeDefined();
    await Promise.all([first, second!.then(() => order.push('second'))]);
    expect(order).toEqual(['first', 'second']);
  });
});
