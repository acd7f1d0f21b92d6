import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { newId } from './core/ids.ts';
import { HelpdeskCommonOptions, type ChannelDefinition, type ChannelInstance, type HelpdeskDefinition, type HelpdeskInstance, type Logger, type NotifierDefinition, type NotifierInstance, type RateLimiter } from './core/connector.ts';
import { NormalizedMessage, type InboundDraft } from './core/message.ts';
import { createPipeline, inboundJob, noteJob, type ChannelEntry, type RuleSet } from './core/pipeline.ts';
import { conversationKey } from './core/jobs.ts';
import { compileRules, explain } from './core/rules/engine.ts';
import type { ConnectorRegistry } from './config/schema.ts';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { watchRules } from './config/watch.ts';
import { buildApp, type MountedChannel } from './http/app.ts';
import type { RulesTestInput } from './http/admin.ts';
import { createEmbeddedRuntime } from './runtime/embedded/index.ts';
import { createLogger } from './runtime/log.ts';
import { createRateLimiter, helpdeskLimiter, type RateLimiterOptions } from './runtime/rate-limiter.ts';
import { runExclusively } from './runtime/exclusive.ts';
import { createMetrics } from './runtime/metrics.ts';
import type { Runtime } from './runtime/runtime.ts';

export type Role = 'all' | 'ingress' | 'worker';

export interface Gateway {
  app: FastifyInstance;
  runtime: Runtime;
  log: Logger;
  address: string;
  close(): Promise<void>;
}

type Config = LoadedConfig['config'];

/** Everything the CLI and the tests need to assemble one gateway process from a config file. */
export async function startGateway(opts: {
  configFile: string;
  registry: ConnectorRegistry;
  role?: Role;
  env?: NodeJS.ProcessEnv;
  port?: number;
}): Promise<Gateway> {
  const role = opts.role ?? 'all';
  const loaded = await loadConfig(opts.configFile, opts.registry, opts.env ?? process.env);
  const cfg = loaded.config;
  const refused = roleProblem(role, cfg);
  if (refused) throw new Error(refused);
  const log = createLogger({ level: cfg.log.level, secrets: loaded.secrets });
  const dataDir = dataDirOf(cfg);
  const runtime = await openRuntime(cfg, log);
  const metrics = createMetrics(cfg.helpdesk.kind);

  let rules: RuleSet = { compiled: compileRules(cfg.rules), replies: cfg.replies };
  const watcher = watchRules(
    loaded,
    opts.registry,
    (next) => {
      try {
        rules = { compiled: compileRules(next.rules), replies: next.replies };
        log.info({ rules: next.rules.length }, 'rules reloaded');
      } catch (err) {
        log.error({ err }, 'rules change refused; the running rules stay');
      }
    },
    (err) => log.error({ error: err.message }, 'config change refused; the running config stays'),
    {
      env: opts.env ?? process.env,
      onRestartNeeded: (sections) => log.warn({ sections }, 'config changed in sections that need a restart to take effect'),
    },
  );
  for (const w of loaded.warnings) log.warn({ file: w.file, line: w.line, path: w.path }, w.message);

  const helpdesk = await createHelpdesk(opts.registry, cfg, {
    log: log.child({ helpdesk: cfg.helpdesk.kind }),
    kv: runtime.kv,
    dataDir,
    // Shared by every process when the runtime can (Redis); timed for the metrics either way.
    makeLimiter: (o) => metrics.timedLimiter(runtime.sharedRateLimiter?.('helpdesk', o) ?? createRateLimiter(o)),
  });
  const channels = new Map<string, ChannelEntry>();
  for (const [id, chCfg] of Object.entries(cfg.channels)) {
    const def = findDefinition(opts.registry.channels, chCfg.kind, 'channel');
    const clog = log.child({ channel: id });
    const instance: ChannelInstance = await def.create(def.options.parse(withoutKind(chCfg)), {
      channelId: id,
      log: clog,
      kv: prefixedKv(runtime, `channel:${id}:`),
      blobs: runtime.blobs,
      dataDir,
      publicUrl: cfg.server.publicUrl,
      noteToAgents: async (externalId, text, dedupeKey) => {
        const link = await runtime.links.get(conversationKey(id, externalId));
        if (!link) return clog.warn({ conversation: externalId }, 'nothing to note on: no ticket is linked to this conversation yet');
        await runtime.enqueue([noteJob(link.ticketId, text, `note:${id}:${dedupeKey}`)]);
      },
      conversationForTicket: async (ticketId) => {
        const link = await runtime.links.byTicket(ticketId);
        return link && link.channelId === id ? link.conversation.externalId : undefined;
      },
      accept: async (drafts: InboundDraft[]) => {
        const receivedAt = new Date().toISOString();
        const messages = drafts.map((d) => NormalizedMessage.parse({ ...d, id: newId(), receivedAt, channel: { id, kind: def.kind } }));
        const outcomes = await runtime.enqueue(messages.map(inboundJob));
        for (const o of outcomes) (o.duplicate ? metrics.duplicates : metrics.accepted).inc({ channel: id });
        return outcomes;
      },
    });
    channels.set(id, { kind: def.kind, instance });
  }

  const notifiers = new Map<string, NotifierInstance>();
  for (const [id, nCfg] of Object.entries(cfg.notifiers)) {
    const def = findDefinition(opts.registry.notifiers ?? [], nCfg.kind, 'notifier');
    notifiers.set(id, await def.create(def.options.parse(withoutKind(nCfg)), { log: log.child({ notifier: id }), kv: prefixedKv(runtime, `notifier:${id}:`) }));
  }

  const pipeline = createPipeline({
    helpdesk,
    channels,
    notifiers,
    links: runtime.links,
    rules: () => rules,
    timezone: cfg.timezone,
    log: log.child({ part: 'pipeline' }),
  });

  // Channels that receive in one process only run where their lease is; the rest stand by.
  const exclusive = new Map<string, ReturnType<typeof runExclusively>>();
  const standby = (id: string) => exclusive.has(id) && !exclusive.get(id)!.active();
  const mounted: MountedChannel[] = role === 'worker' ? [] : [...channels].map(([id, c]) => ({
    id,
    kind: c.kind,
    routes: c.instance.routes ?? [],
    status: () => (standby(id) ? { ready: true, detail: 'standing by: another process runs this channel' } : (c.instance.status?.() ?? { ready: true })),
  }));
  const app = await buildApp({
    runtime,
    helpdesk,
    channels: mounted,
    metrics,
    log: log.child({ part: 'http' }),
    bodyLimit: cfg.server.bodyLimitBytes,
    trustProxy: cfg.server.trustProxy,
    admin: cfg.server.adminToken
      ? { token: cfg.server.adminToken, runtime, testRules: (input) => testRules(rules, input, { channelKind: cfg.channels[input.channel]?.kind ?? 'unknown', timezone: cfg.timezone }) }
      : undefined,
  });

  if (role !== 'ingress') runtime.startWorker(pipeline, metrics.events);
  if (role !== 'worker') {
    for (const [id, c] of channels) {
      if (c.instance.exclusive && runtime.lease && c.instance.start) {
        const part = { start: () => c.instance.start!(), stop: () => c.instance.stop?.() ?? Promise.resolve() };
        exclusive.set(id, runExclusively(runtime.lease(`channel:${id}`), part, log.child({ channel: id })));
        continue;
      }
      try {
        await c.instance.start?.();
      } catch (err) {
        log.error({ channel: id, err }, 'channel failed to start; see /readyz');
      }
    }
  }
  const address = await app.listen({ port: opts.port ?? cfg.server.port, host: cfg.server.host });
  log.info({ address, role, helpdesk: cfg.helpdesk.kind, channels: [...channels.keys()], store: cfg.store.kind }, 'switchboard started');

  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    log,
    address,
    close() {
      closing ??= (async () => {
        watcher.close();
        await app.close();
        for (const keeper of exclusive.values()) await keeper.close();
        for (const [, c] of channels) await c.instance.stop?.().catch(() => undefined);
        await runtime.close();
        log.info({}, 'switchboard stopped');
      })();
      return closing;
    },
  };
}

/** Local files (database, sessions) live under the embedded store's path, else ./data. */
export function dataDirOf(cfg: Config): string {
  return resolve(cfg.store.kind === 'embedded' ? cfg.store.path : './data');
}

/**
 * Splitting ingress from workers needs a store that several processes share. The embedded
 * store is one process's SQLite file, so there it is `all` or nothing.
 */
export function roleProblem(role: Role, cfg: Config): string | undefined {
  if (role === 'all' || cfg.store.kind === 'redis') return undefined;
  return `--role ${role} needs a store that several processes share (store.kind: redis); the embedded store runs everything in one process (--role all)`;
}

/** The runtime the config names; a worker is started on it only by `startWorker`. */
export async function openRuntime(cfg: Config, log: Logger): Promise<Runtime> {
  const retry = { maxAttempts: cfg.delivery.maxAttempts, baseDelayMs: cfg.delivery.baseDelayMs, maxDelayMs: cfg.delivery.maxDelayMs };
  const floodLimit = cfg.delivery.floodLimit || undefined;
  const store = cfg.store;
  if (store.kind === 'redis') {
    // Loaded only when used: ioredis costs a one-process deployment memory for nothing.
    const { createRedisRuntime } = await import('./runtime/redis/index.ts');
    return createRedisRuntime({
      url: store.url,
      prefix: store.prefix,
      concurrency: cfg.delivery.concurrency,
      retry,
      lockDurationMs: store.takeoverAfterMs,
      floodLimit,
      log: log.child({ part: 'store' }),
    });
  }
  return createEmbeddedRuntime({ path: dataDirOf(cfg), concurrency: cfg.delivery.concurrency, retry, floodLimit, log: log.child({ part: 'store' }) });
}

export async function createHelpdesk(
  registry: ConnectorRegistry,
  cfg: Config,
  ctx: { log: Logger; kv: Runtime['kv']; dataDir: string; limiter?: RateLimiter; makeLimiter?: (opts: RateLimiterOptions) => RateLimiter },
): Promise<HelpdeskInstance> {
  const def = findDefinition(registry.helpdesks, cfg.helpdesk.kind, 'helpdesk');
  const options = def.options.parse(withoutKind(cfg.helpdesk));
  // One limiter paces every request to the helpdesk (a runtime shared by several processes may bring its own).
  const common = HelpdeskCommonOptions.pick({ requestsPerMinute: true }).parse(options);
  const limiter = ctx.limiter ?? helpdeskLimiter(def.rateLimits, common, ctx.log.child({ part: 'rate-limiter' }), ctx.makeLimiter);
  return def.create(options, { log: ctx.log, kv: ctx.kv, dataDir: ctx.dataDir, limiter });
}

function findDefinition<D extends ChannelDefinition | HelpdeskDefinition | NotifierDefinition>(defs: D[], kind: string, what: string): D {
  const def = defs.find((d) => d.kind === kind);
  if (!def) throw new Error(`unknown ${what} kind '${kind}' (known: ${defs.map((d) => d.kind).join(', ')})`);
  return def;
}

function withoutKind(o: Record<string, unknown>): Record<string, unknown> {
  const { kind: _kind, ...rest } = o;
  return rest;
}

function prefixedKv(runtime: Runtime, prefix: string): Runtime['kv'] {
  return {
    get: (k) => runtime.kv.get(prefix + k),
    set: (k, v) => runtime.kv.set(prefix + k, v),
    delete: (k) => runtime.kv.delete(prefix + k),
  };
}

/** The rules' verdict on a sample text, with the trace of which rule fired and why. */
export function testRules(rules: RuleSet, input: RulesTestInput, where: { channelKind: string; timezone: string }) {
  const now = new Date();
  const message = NormalizedMessage.parse({
    id: 'test',
    channel: { id: input.channel, kind: where.channelKind },
    kind: input.form ? 'form' : 'message',
    externalId: 'test',
    dedupeKey: 'test',
    conversation: { externalId: 'test' },
    sender: { externalId: 'test', ...input.sender },
    text: input.text,
    form: input.form ? { formId: input.channel, fields: input.form } : undefined,
    occurredAt: now.toISOString(),
    receivedAt: now.toISOString(),
  });
  return explain(rules.compiled, { message, isFirst: input.first, now, timezone: where.timezone });
}
