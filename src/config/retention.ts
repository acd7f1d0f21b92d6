import { z } from 'zod';
import { DEFAULT_RETENTION, type RecordKind } from '../core/retention.ts';
import { Duration } from './learning.ts';

const DAY_MS = 86_400_000;

/** One kind's retention, its default taken from the core's table (written in days, as admins read it). */
const keep = (kind: RecordKind, what: string) =>
  Duration.prefault(`${DEFAULT_RETENTION[kind] / DAY_MS}d`).describe(what);

/**
 * The `retention:` section: how long the store keeps each kind of working record. Records expire
 * so the store stops growing; each default outlasts the vendors' redelivery windows (docs/retention.md).
 */
export const RetentionSection = z.strictObject({
  sent: keep('sent', 'what went out for a reply, an alert or a helpdesk chat post (parts, message ids): a retry or a replayed dead letter sends nothing twice, and status callbacks and reactions find their conversation'),
  inbound: keep('inbound', "a channel's own record of what came in (web form submission ids): a resubmit is answered as before"),
  calls: keep('calls', 'the state of a phone call put together from its events (Twilio, CTI)'),
  threads: keep('threads', "which conversation an outside id belongs to (an email's Message-ID and first subject, a Usedesk chat's ticket); a rebuilt mail folder is rescanned no further back"),
  ratings: keep('ratings', 'what the rating question needs from a ticket\'s creation to its answer (the rules\' tags, the question asked)'),
}).describe('how long the gateway keeps its working records (docs/retention.md); a change needs a restart');
