import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/**
 * 1 MB hostile strings through every function that reads text from outside. The bound is on the
 * work, not the clock: each run happens in a worker, and a super-linear one (the old regexes took
 * ~20 s on 16,000 × "Ж"; on 1 MB, quadratic work is hours) never finishes the generous deadline,
 * while linear work finishes in well under a second even on a loaded 2-core machine. The
 * deadline is 60 s so that load never fails a linear run; a hang is stopped and fails the test.
 */

const MB = 1_000_000;
const inputs: Record<string, string> = {
  cyrillic: 'Ж'.repeat(400_000) + '!',
  digits: '4'.repeat(MB),
  digitGroups: '4111 '.repeat(MB / 5),
  singleDigits: '1 '.repeat(MB / 2),
  atSigns: 'a@'.repeat(MB / 2),
  dottedAt: 'a@b.'.repeat(MB / 4) + 'x',
  ibanBait: 'AB12 '.repeat(MB / 5),
  nestedBait: 'a'.repeat(MB) + '!',
  wordsAndSpaces: 'жж '.repeat(MB / 3) + '!',
};
const fns = ['maskCards', 'maskEmails', 'maskPhones', 'maskIbans', 'logRedaction', 'maskMessage', 'shippedRules', 'baitRules', 'webhookCondition', 'logLine'];
const DEADLINE_MS = 60_000;

function finishes(fn: string, input: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./hostile-worker.ts', import.meta.url), { workerData: { fn, input } });
    const timer = setTimeout(() => void worker.terminate().then(() => resolve(false)), DEADLINE_MS);
    worker.once('message', () => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(true));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('linear time on 1 MB hostile text', () => {
  for (const fn of fns) {
    it(`${fn} finishes on every hostile input`, { timeout: DEADLINE_MS * Object.keys(inputs).length + 10_000 }, async () => {
      for (const [name, input] of Object.entries(inputs)) expect([name, await finishes(fn, input)]).toEqual([name, true]);
    });
  }
});

describe('channel text clean-ups stay linear', () => {
  // Each of these took 0.4–24 s on 20,000–100,000 characters before (one pass per space or `@`).
  it('email bodies, subjects and signature lines; WhatsApp text; Freshdesk link headers', async () => {
    for (const fn of ['emailText', 'emailSubject', 'emailSignature', 'whatsappText']) {
      for (const input of [' '.repeat(MB) + 'x', '@'.repeat(MB), `re${' '.repeat(MB)}x`]) expect([fn, await finishes(fn, input)]).toEqual([fn, true]);
    }
  }, 600_000);
});
