import { defineNotifier } from '../../../src/core/connector.ts';
import { createJsonlNotifier } from './notifier.ts';
import { JsonlNotifierOptions } from './options.ts';

/** Escalation notices into a file, one JSON line each: the dry run (the demo uses it). */
export const definition = defineNotifier({
  kind: 'jsonl',
  options: JsonlNotifierOptions,
  create: (options) => createJsonlNotifier(options),
});

export { JsonlNotifierOptions } from './options.ts';
