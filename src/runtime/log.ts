import pino from 'pino';
import type { Logger } from '../core/connector.ts';
import { redactDeep, redactText } from '../core/redact.ts';

export interface LogOptions {
  level?: string;
  /** Secret values from the config: cut out of every line wherever they appear. */
  secrets?: readonly string[];
  destination?: pino.DestinationStream;
}

const BINDINGS = Symbol('switchboard.bindings');
/** Keys pino writes itself: a field of the same name is kept under another name instead of repeated. */
const RESERVED = ['level', 'time', 'msg'] as const;

type Bound = pino.Logger & { [BINDINGS]?: Record<string, unknown> };

/**
 * JSON logs (pino) with secrets, emails, phones and card numbers masked in every field, and
 * every key once per line. Pino appends child bindings as text, so `child({channel})` under
 * `child({channel})` (or a line's own `channel` field) would write the key twice; here a child's
 * bindings are one merged object, joined with each line's fields (the line's value wins).
 */
export function createLogger(opts: LogOptions = {}): Logger & pino.Logger {
  const secrets = opts.secrets ?? [];
  const root = pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: (_obj, _level, logger) => ({ ...(logger as Bound)[BINDINGS] }),
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => renameReserved(redactDeep(obj, secrets) as Record<string, unknown>),
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? redactText(a, secrets) : a));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  ) as Bound;
  root[BINDINGS] = { service: 'switchboard' };
  const pinoChild = root.child;
  // Set on the root, inherited by every child (pino children are prototype copies of their parent).
  const child = function (this: Bound, bindings: Record<string, unknown>): Bound {
    const made = pinoChild.call(this, {}) as unknown as Bound;
    made[BINDINGS] = { ...this[BINDINGS], ...bindings };
    return made;
  };
  Object.defineProperty(root, 'child', { value: child, writable: true, configurable: true });
  return root as Logger & pino.Logger;
}

function renameReserved(obj: Record<string, unknown>): Record<string, unknown> {
  for (const key of RESERVED) {
    if (key in obj) {
      obj[`${key}Field`] = obj[key];
      delete obj[key];
    }
  }
  return obj;
}
