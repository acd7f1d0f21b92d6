import client from 'prom-client';
import type { Logger } from '../core/connector.ts';
import type { RoutingEvaluation } from '../core/history/evaluate.ts';

/**
 * The figures of `rules eval` as Prometheus gauges, refreshed every `everyMs` (the config's
 * `history.evaluate`). A refresh that fails keeps the last figures and logs why.
 */
export function startRoutingGauges(opts: {
  registry: client.Registry;
  everyMs: number;
  evaluate: () => Promise<RoutingEvaluation>;
  log: Logger;
}): { refresh(): Promise<void>; stop(): void } {
  const labels = ['topic'];
  const precision = new client.Gauge({ name: 'switchboard_routing_precision', help: 'Share of tickets routed to a topic that agents left under it (rules eval)', labelNames: labels, registers: [opts.registry] });
  const recall = new client.Gauge({ name: 'switchboard_routing_recall', help: 'Share of a topic\'s tickets (by agents\' tags) the gateway routed to it (rules eval)', labelNames: labels, registers: [opts.registry] });
  const accuracy = new client.Gauge({ name: 'switchboard_routing_accuracy', help: 'Share of tickets whose routed topic matches the agents\' tags (rules eval)', registers: [opts.registry] });
  const scored = new client.Gauge({ name: 'switchboard_routing_tickets_scored', help: 'Tickets the last rules eval compared', registers: [opts.registry] });
  const at = new client.Gauge({ name: 'switchboard_routing_evaluated_timestamp_seconds', help: 'When rules eval last succeeded', registers: [opts.registry] });
  let running: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    running ??= (async () => {
      try {
        const ev = await opts.evaluate();
        precision.reset();
        recall.reset();
        for (const [topic, m] of Object.entries(ev.perTopic)) {
          precision.set({ topic }, m.precision);
          recall.set({ topic }, m.recall);
        }
        accuracy.set(ev.accuracy);
        scored.set(ev.found);
        at.set(Date.now() / 1000);
        opts.log.info({ tickets: ev.found, accuracy: ev.accuracy }, 'routing accuracy refreshed');
      } catch (err) {
        opts.log.warn({ err }, 'routing accuracy refresh failed; the gauges keep their last figures');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void refresh(), opts.everyMs);
  timer.unref();
  const first = setTimeout(() => void refresh(), 1000);
  first.unref();
  return {
    refresh,
    stop() {
      clearInterval(timer);
      clearTimeout(first);
    },
  };
}
