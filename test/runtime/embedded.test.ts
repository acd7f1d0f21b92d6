import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEmbeddedRuntime } from '../../src/runtime/embedded/index.ts';
import { runtimeConformance } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));

runtimeConformance('embedded (node:sqlite)', {
  async open(name, opts) {
    return createEmbeddedRuntime({
      path: join(root, name),
      concurrency: opts?.concurrency ?? 4,
      retry: { maxAttempts: opts?.maxAttempts ?? 10, baseDelayMs: 40, maxDelayMs: 2000 },
      batchSettleMs: 150,
      log: pino({ level: 'silent' }),
    });
  },
  async cleanup() {
    rmSync(root, { recursive: true, force: true });
  },
});
