import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPacer } from '../../connectors/helpdesks/zendesk/pacer.ts';

describe('Zendesk request pacing', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('spaces requests by 60 s / requestsPerMinute', async () => {
    vi.useFakeTimers();
    const pacer = createPacer(120); // one every 500 ms
    const released: number[] = [];
    for (const n of [1, 2, 3]) void pacer.wait().then(() => released.push(n));
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toEqual([1]);
    await vi.advanceTimersByTimeAsync(499);
    expect(released).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(500);
    expect(released).toEqual([1, 2, 3]);
  });

  it('does not pace at all when no budget is set', async () => {
    vi.useFakeTimers();
    const pacer = createPacer(undefined);
    const released: number[] = [];
    for (const n of [1, 2, 3]) void pacer.wait().then(() => released.push(n));
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toEqual([1, 2, 3]);
  });
});
