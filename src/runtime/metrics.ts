import client from 'prom-client';
import type { RateLimiter } from '../core/connector.ts';
import type { Labels, ResponseSample } from '../core/kpi/record.ts';
import type { CsatEvents } from '../core/csat/csat.ts';
import type { Runtime, WorkerEvents } from './runtime.ts';

/**
 * Prometheus metrics, one registry per gateway process. Process and Node.js metrics keep their
 * standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…) so stock dashboards
 * work; the gateway's own start with switchboard_.
 */
export function createMetrics(helpdeskKind: string) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // Every ack is counted: in plain numbers on the accept path, handed to prom-client when a
  // scrape (or anything else) reads these metrics, so an ack never hashes label objects.
  const acceptCounts = new Map<string, { accepted: number; duplicates: number; lastAt: number }>();
  const collectAccepts = () => {
    for (const [channel, c] of acceptCounts) {
      if (c.accepted > 0) accepted.inc({ channel }, c.accepted);
      if (c.duplicates > 0) duplicates.inc({ channel }, c.duplicates);
      if (c.lastAt > 0) lastInbound.set({ channel }, c.lastAt / 1000);
      acceptCounts.delete(channel);
    }
  };
  const accepted = new client.Counter({ name: 'switchboard_accepted_total', help: 'Inbound events durably accepted', labelNames: ['channel'], registers: [registry], collect: collectAccepts });
  const duplicates = new client.Counter({ name: 'switchboard_duplicates_total', help: 'Inbound events ignored as redeliveries', labelNames: ['channel'], registers: [registry], collect: collectAccepts });
  const rejected = new client.Counter({ name: 'switchboard_rejected_total', help: 'Inbound requests refused (auth, validation)', labelNames: ['route', 'status'], registers: [registry] });
  const delivered = new client.Counter({ name: 'switchboard_delivered_total', help: 'Jobs completed', labelNames: ['kind', 'channel', 'helpdesk'], registers: [registry] });
  const retried = new client.Counter({ name: 'switchboard_retried_total', help: 'Job attempts that failed and were rescheduled', labelNames: ['kind', 'target', 'reason'], registers: [registry] });
  const dead = new client.Counter({ name: 'switchboard_dead_lettered_total', help: 'Jobs moved to the dead-letter queue', labelNames: ['kind', 'target', 'reason'], registers: [registry] });
  const failures = new client.Counter({
    name: 'switchboard_delivery_failures_total',
    help: 'Failed delivery attempts by target and the remote side\'s HTTP status ("none" without one); 401/403 from the helpdesk means refused credentials',
    labelNames: ['target', 'status'],
    registers: [registry],
  });
  const lastInbound = new client.Gauge({ name: 'switchboard_channel_last_inbound_timestamp_seconds', help: 'When this process last accepted a message on the channel (Unix time)', labelNames: ['channel'], registers: [registry], collect: collectAccepts });
  const lastOutbound = new client.Gauge({ name: 'switchboard_channel_last_outbound_timestamp_seconds', help: 'When this process last delivered a reply to the channel (Unix time)', labelNames: ['channel'], registers: [registry] });
  const lag = new client.Histogram({
    name: 'switchboard_lane_lag_seconds',
    help: 'Time from accept to completed delivery',
    labelNames: ['kind', 'channel'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  const queued = new client.Gauge({ name: 'switchboard_queue_depth', help: 'Jobs waiting', registers: [registry] });
  const queuedByClass = new client.Gauge({
    name: 'switchboard_queue_class_depth',
    help: 'Jobs waiting per scheduling class (urgent, high, normal, throttled; unclassified: not classified yet); they add up to switchboard_queue_depth',
    labelNames: ['class'],
    registers: [registry],
  });
  const deadDepth = new client.Gauge({ name: 'switchboard_dead_letters', help: 'Jobs in the dead-letter queue', registers: [registry] });
  const oldest = new client.Gauge({ name: 'switchboard_oldest_queued_seconds', help: 'Age of the oldest waiting job', registers: [registry] });
  const channelUp = new client.Gauge({ name: 'switchboard_channel_ready', help: '1 when the channel can receive', labelNames: ['channel'], registers: [registry] });
  const inFlight = new client.Gauge({ name: 'switchboard_in_flight', help: 'Jobs this process is delivering now', registers: [registry] });
  const limiterWait = new client.Histogram({
    name: 'switchboard_rate_limiter_wait_seconds',
    help: 'How long requests to the helpdesk waited for the rate limiter in this process',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  // Labels are bounded: configured channels, `kpi.topics` + other, four priorities + none, mapped groups + none/other.
  const conversation = ['channel', 'topic', 'priority', 'group'];
  const responseBuckets = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];
  const firstResponse = new client.Histogram({
    name: 'switchboard_first_response_seconds',
    help: "From the customer's first message (the channel's own time) to the first public agent reply, in business time",
    labelNames: conversation,
    buckets: responseBuckets,
    registers: [registry],
  });
  const replyTime = new client.Histogram({
    name: 'switchboard_reply_seconds',
    help: "From a later customer message (the channel's own time) to the agent reply that answered it, in business time",
    labelNames: conversation,
    buckets: responseBuckets,
    registers: [registry],
  });
  const slaWarnings = new client.Counter({ name: 'switchboard_sla_warnings_total', help: 'Waits that reached the warning share of their SLA target', labelNames: conversation, registers: [registry] });
  const slaBreaches = new client.Counter({ name: 'switchboard_sla_breaches_total', help: 'Waits that went past their SLA target without an agent reply', labelNames: conversation, registers: [registry] });
  const slaResponses = new client.Counter({
    name: 'switchboard_sla_responses_total',
    help: 'Agent replies (first and later) to waits that had an SLA target, by whether they came within it (result: within, late)',
    labelNames: [...conversation, 'result'],
    registers: [registry],
  });
  const csatLabels = ['channel', 'topic', 'group'];
  const csatAsked = new client.Counter({ name: 'switchboard_csat_asked_total', help: 'Rating questions sent after a ticket was solved', labelNames: csatLabels, registers: [registry] });
  const csatAnswered = new client.Counter({ name: 'switchboard_csat_answered_total', help: 'Rating questions answered', labelNames: csatLabels, registers: [registry] });
  const csatScore = new client.Histogram({
    name: 'switchboard_csat_score',
    help: 'Ratings given, 1–5 (average: _sum / _count)',
    labelNames: csatLabels,
    buckets: [1, 2, 3, 4, 5],
    registers: [registry],
  });
  const csatSkipped = new client.Counter({ name: 'switchboard_csat_skipped_total', help: 'Solved tickets whose customer was not asked, by reason', labelNames: ['channel', 'reason'], registers: [registry] });
  const csat: CsatEvents = {
    asked(l) {
      csatAsked.inc({ ...l });
      // The answered series exists from the first question on, so an answer rate of 0 shows as 0, not as nothing.
      csatAnswered.inc({ ...l }, 0);
    },
    answered(l, score) {
      csatAnswered.inc({ ...l });
      csatScore.observe({ ...l }, score);
    },
    skipped: (channel, reason) => csatSkipped.inc({ channel, reason }),
  };

  const events: WorkerEvents = {
    delivered(job, count) {
      delivered.inc({ kind: job.kind, channel: job.channelId ?? '', helpdesk: helpdeskKind }, count);
      lag.observe({ kind: job.kind, channel: job.channelId ?? '' }, (Date.now() - job.createdAt) / 1000);
      if (job.target.startsWith('channel:')) lastOutbound.set({ channel: job.target.slice('channel:'.length) }, Date.now() / 1000);
    },
    retried(job, reason, _delayMs, failure) {
      retried.inc({ kind: job.kind, target: job.target, reason });
      failures.inc({ target: job.target, status: String(failure?.status ?? 'none') });
    },
    deadLettered(job, reason, failure) {
      dead.inc({ kind: job.kind, target: job.target, reason });
      failures.inc({ target: job.target, status: String(failure?.status ?? 'none') });
    },
  };

  return {
    registry,
    events,
    rejected,
    channelUp,
    /** A response time was measured for a conversation. */
    response(sample: ResponseSample, labels: Labels): void {
      const { channel, topic, priority, group } = labels;
      (sample.kind === 'first' ? firstResponse : replyTime).observe({ channel, topic, priority, group }, sample.businessMs / 1000);
      if (sample.targetMs === undefined) return;
      const within = sample.businessMs <= sample.targetMs;
      // Both results exist once one does, so the share within SLA is a number from the first reply on.
      slaResponses.inc({ channel, topic, priority, group, result: within ? 'within' : 'late' });
      slaResponses.inc({ channel, topic, priority, group, result: within ? 'late' : 'within' }, 0);
    },
    /** The SLA watch warned about or declared a breach of a conversation's wait. */
    slaStage(stage: 'warning' | 'breach', labels: Labels): void {
      const { channel, topic, priority, group } = labels;
      (stage === 'breach' ? slaBreaches : slaWarnings).inc({ channel, topic, priority, group });
    },
    csat,
    /** A message was accepted on the channel (duplicates are counted apart). */
    accept(channel: string, duplicate: boolean): void {
      let c = acceptCounts.get(channel);
      if (!c) acceptCounts.set(channel, (c = { accepted: 0, duplicates: 0, lastAt: 0 }));
      if (duplicate) c.duplicates++;
      else {
        c.accepted++;
        c.lastAt = Date.now();
      }
    },
    /** The same limiter, with each wait recorded in switchboard_rate_limiter_wait_seconds. */
    timedLimiter(limiter: RateLimiter): RateLimiter {
      return {
        async acquire(cost, endpoint) {
          const end = limiterWait.startTimer();
          try {
            await limiter.acquire(cost, endpoint);
          } finally {
            end();
          }
        },
        observe: (signal) => limiter.observe(signal),
      };
    },
    /** Refresh the gauges read from the store, then render. */
    async render(runtime: Runtime): Promise<string> {
      try {
        const s = await runtime.stats();
        queued.set(s.queued);
        for (const [cls, n] of Object.entries(s.queuedByClass)) queuedByClass.set({ class: cls }, n);
        deadDepth.set(s.dead);
        oldest.set(s.oldestQueuedMs / 1000);
        inFlight.set(s.inFlight);
      } catch {
        // the store being down is reported by /readyz; metrics still render
      }
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
