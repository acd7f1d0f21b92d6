import pino from 'pino';
import type { Logger } from '../core/connector.ts';
import { redactDeep, redactText } from '../core/redact.ts';

export interface LogOptions {
  level?: string;
  /** Secret values from the config: cut out of every line wherever they appear. */
  secrets?: readonly string[];
  destination?: pino.DestinationStream;
}

/** JSON logs (pino) with secrets, emails, phones and card numbers masked in every field. */
export function createLogger(opts: LogOptions = {}): Logger & pino.Logger {
  const secrets = opts.secrets ?? [];
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactDeep(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? redactText(a, secrets) : a));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
