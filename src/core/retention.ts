/**
 * How long the key-value store keeps the records connectors and the core write there. A record
 * says what it is (`keep`), and the store forgets it that long after it was last written; the
 * admin sets each kind in `retention:` (docs/retention.md). Every default outlasts the longest
 * redelivery or retry that needs the record: Meta retries a webhook for up to 7 days, Telegram
 * keeps an update for 24 hours, Twilio retries a callback within minutes, a dead letter is
 * replayed within days.
 */
export const RECORD_KINDS = ['sent', 'inbound', 'calls', 'threads', 'ratings'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export type Retention = Record<RecordKind, number>;

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: Readonly<Retention> = {
  /** What went out for one job (parts of a reply, the message ids status callbacks and reactions name, a post to a helpdesk chat, an alert): a retry or replay sends nothing twice. */
  sent: 14 * DAY_MS,
  /** A channel's own record of what came in (a form's submission id): a resubmit is answered as before. */
  inbound: 14 * DAY_MS,
  /** A phone call being put together from events that arrive in any order. */
  calls: 2 * DAY_MS,
  /** Which conversation an outside id belongs to (an email's Message-ID, its first subject, a Usedesk chat's ticket). */
  threads: 180 * DAY_MS,
  /** What the rating question needs from a ticket's creation to its answer (the rules' tags, the question). */
  ratings: 180 * DAY_MS,
};

/** When a record written now with these options expires (ms since the epoch), or undefined: kept until deleted. */
export function expiresAt(opts: { keep?: RecordKind; ttlMs?: number } | undefined, retention: Readonly<Retention>, now: number): number | undefined {
  const ms = opts?.ttlMs ?? (opts?.keep ? retention[opts.keep] : undefined);
  return ms === undefined ? undefined : now + ms;
}
