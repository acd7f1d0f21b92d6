/** Spaces requests evenly so a configured requests-per-minute budget is never exceeded. */
export interface Pacer {
  wait(): Promise<void>;
}

export function createPacer(requestsPerMinute: number | undefined): Pacer {
  if (!requestsPerMinute) return { wait: async () => {} };
  const intervalMs = 60_000 / requestsPerMinute;
  let nextAt = 0;
  return {
    async wait() {
      const now = Date.now();
      const at = Math.max(now, nextAt);
      nextAt = at + intervalMs;
      if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
    },
  };
}
