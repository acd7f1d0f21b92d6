import { AsyncLocalStorage } from 'node:async_hooks';
import { NORMAL } from './classes.ts';

/**
 * The scheduling class of the delivery the current code runs for. Workers run each delivery
 * inside `withClass`; the helpdesk rate limiter reads it, so an urgent delivery waiting for
 * the helpdesk's budget goes before the ordinary ones waiting with it, without the connectors
 * passing anything along.
 */
const current = new AsyncLocalStorage<number>();

export function withClass<T>(cls: number, run: () => T): T {
  return current.run(cls, run);
}

export function currentClass(): number {
  return current.getStore() ?? NORMAL;
}
