import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { NotifierInstance } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { noticePayload } from '../../../src/kit/notice/payload.ts';
import type { JsonlNotifierOptions } from './options.ts';

/**
 * The dry run of a notifier: each notice, as the webhook notifier would post it (personal data
 * masked), becomes one JSON line in a file. The demo routes `slack:compliance` here, so the
 * shipped rules run without a Slack workspace.
 */
export function createJsonlNotifier(options: JsonlNotifierOptions): NotifierInstance {
  const path = resolve(options.path);
  return {
    async send(notice, ctx) {
      const line = { at: new Date().toISOString(), ...noticePayload(notice, ctx.idempotencyKey, options.excerptLength) };
      try {
        await mkdir(dirname(path), { recursive: true });
        await appendFile(path, `${JSON.stringify(line)}\n`);
      } catch (err) {
        throw new DeliveryError(`dry run: cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, { kind: 'retry', cause: err });
      }
    },
    async check() {
      await mkdir(dirname(path), { recursive: true });
      return `dry run: notices go to ${path}`;
    },
  };
}
