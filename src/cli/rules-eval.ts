import type { Command } from 'commander';
import { registry } from '../../connectors/registry.ts';
import { parseDuration } from '../config/learning.ts';
import { evaluateRouting, type RoutingEvaluation } from '../core/history/evaluate.ts';
import { RoutingLog } from '../core/history/routing-log.ts';
import { createHistoryReader, dataDirOf, openRuntime } from '../gateway.ts';
import { createLogger } from '../runtime/log.ts';
import { createRateLimiter, type RateLimiterOptions } from '../runtime/rate-limiter.ts';
import type { CliDeps } from './deps.ts';
import { formatEvaluation } from './model-train.ts';

/**
 * `switchboard rules eval --since 30d`: how often the routing was right in production. The
 * decisions the gateway kept for the tickets it created, against those tickets' tags now.
 */

export function formatRoutingEvaluation(ev: RoutingEvaluation, missLimit: number): string {
  const lines = [`${ev.routed} ticket(s) created by the gateway in the window; ${ev.found} found in the helpdesk.`];
  if (ev.found === 0) return lines.join('\n');
  lines.push(formatEvaluation(ev, 'routing against the tags agents left'));
  if (ev.misses.length > 0) {
    lines.push(`misses (${ev.misses.length}${ev.misses.length > missLimit ? `, first ${missLimit}` : ''}): tags say → gateway said`);
    for (const m of ev.misses.slice(0, missLimit)) {
      const text = m.text.replace(/\s+/g, ' ').trim();
      lines.push(`  ticket ${m.ticketId}: ${m.expected} → ${m.predicted} [${m.rules.join(', ')}] ${JSON.stringify(text.length > 120 ? `${text.slice(0, 119)}…` : text)}`);
    }
  }
  return lines.join('\n');
}

export function registerRulesEval(rules: Command, deps: CliDeps): void {
  rules
    .command('eval')
    .description('score the routing of the tickets the gateway created against the tags agents left on them')
    .option('-c, --config <file>', 'config file (env SWITCHBOARD_CONFIG)')
    .option('--since <duration>', 'tickets created in this window, e.g. 30d', '30d')
    .option('--misses <n>', 'how many misses to list', '20')
    .option('--json', 'print JSON')
    .action(async (o: { config?: string; since: string; misses: string; json?: boolean }) => {
      const sinceMs = parseDuration(o.since);
      if (sinceMs === undefined) throw deps.fail(`--since must be a duration like 30d, got '${o.since}'`, 'config');
      const loaded = await deps.load(o.config);
      const cfg = loaded.config;
      const log = createLogger({ level: 'warn', secrets: loaded.secrets });
      const rt = await openRuntime(cfg, log);
      try {
        // Paced with the running gateways where the store shares a limiter (Redis).
        const makeLimiter = (opts: RateLimiterOptions) => rt.sharedRateLimiter?.('helpdesk', opts) ?? createRateLimiter(opts);
        const reader = createHistoryReader(registry, cfg, { log, kv: rt.kv, dataDir: dataDirOf(cfg), makeLimiter });
        if (!reader) throw deps.fail(`helpdesk '${cfg.helpdesk.kind}' has no ticket list to read the agents' tags from`, 'config');
        const ev = await evaluateRouting({ log: new RoutingLog(rt.kv, cfg.history), reader, topics: cfg.topics, since: new Date(Date.now() - sinceMs) });
        if (o.json) return console.log(JSON.stringify(ev, null, 2));
        console.log(formatRoutingEvaluation(ev, Number(o.misses) || 20));
      } finally {
        await rt.close();
      }
    });
}
