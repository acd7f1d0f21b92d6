import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { newId } from './core/ids.ts';
import { InvalidInput } from './core/errors.ts';
import { HelpdeskCommonOptions, type HistoryReader, type ChannelDefinition, type ChannelInstance, type HelpdeskDefinition, type HelpdeskInstance, type Logger, type NotifierDefinition, type NotifierInstance, type RateLimiter } from './core/connector.ts';
import { NormalizedMessage, NormalizedMessageParser, type InboundDraft } from './core/message.ts';
import { maskMessage } from './core/privacy.ts';
import { createIdentityService } from './core/identity/service.ts';
import { afterSendsJob, againJob, createPipeline, excerpt, inboundJob, lanes, noteJob, type ChannelEntry, type RuleSet } from './core/pipeline.ts';
import { conversationKey } from './core/jobs.ts';
import { createCsat } from './core/csat/csat.ts';
import { ticketsBeingLinked } from './core/linking.ts';
import { compileRules, explain } from './core/rules/engine.ts';
import { calendarOf } from './core/kpi/config.ts';
import { createConversationTiming } from './core/kpi/timing.ts';
import { createSlaWatch, watchLoop } from './core/kpi/watch.ts';
import type { ConnectorRegistry } from './config/schema.ts';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { watchRules } from './config/watch.ts';
import { loadModelFile, modelPathOf, watchModelFile } from './config/model-file.ts';
import { RoutingLog } from './core/history/routing-log.ts';
import type { TextModel } from './core/model/text-model.ts';
import { evaluateRouting } from './core/history/evaluate.ts';
import { startRoutingGauges } from './runtime/routing-accuracy.ts';
import { buildApp, type MountedChannel } from './http/app.ts';
import type { RulesTestInput } from './http/admin.ts';
import { Activity } from './runtime/activity.ts';
import { createEmbeddedRuntime } from './runtime/embedded/index.ts';
import { createLogger } from './runtime/log.ts';
import { createRateLimiter, helpdeskLimiter, type RateLimiterOptions } from './runtime/rate-limiter.ts';
import { runExclusively } from './runtime/exclusive.ts';
import { createMetrics } from './runtime/metrics.ts';
import { allEvents, type Runtime, type WorkerEvents } from './runtime/runtime.ts';

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
  const activity = new Activity();

  // The text model loads before the rules compile, so a rule naming a topic it lacks is refused.
  const modelPath = modelPathOf(loaded);
  let model: TextModel | undefined = modelPath ? await loadModelFile(modelPath) : undefined;
  const compile = (list: typeof cfg.rules, replies: typeof cfg.replies, m: TextModel | undefined): RuleSet =>
    ({ compiled: compileRules(list, { modelTopics: m?.topics }), replies, model: m });
  let rules: RuleSet = compile(cfg.rules, cfg.replies, model);
  const modelWatcher = modelPath ? watchModelFile(
    modelPath,
    (next) => {
      try {
        rules = compile([...rules.compiled.rules], rules.replies, next);
        model = next;
        log.info({ file: modelPath, topics: next.topics, trainedAt: next.file.trained.at }, 'text model reloaded');
      } catch (err) {
        log.error({ err }, 'text model change refused: the rules do not compile with it; the running model stays');
      }
    },
    (err) => log.error({ error: err.message }, 'text model change refused; the running model stays'),
  ) : undefined;
  const watcher = watchRules(
    loaded,
    opts.registry,
    (next) => {
      try {
        rules = compile(next.rules, next.replies, model);
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

  // One limiter for every request to the helpdesk: deliveries and the accuracy refresh alike.
  const limiter = createHelpdeskLimiter(opts.registry, cfg, {
    log: log.child({ helpdesk: cfg.helpdesk.kind }),
    // Shared by every process when the runtime can (Redis); timed for the metrics either way.
    makeLimiter: (o) => metrics.timedLimiter(activity.watchLimiter(runtime.sharedRateLimiter?.('helpdesk', o) ?? createRateLimiter(o))),
  });
  const helpdesk = await createHelpdesk(opts.registry, cfg, { log: log.child({ helpdesk: cfg.helpdesk.kind }), kv: runtime.kv, dataDir, limiter });
  const channels = new Map<string, ChannelEntry>();
  for (const [id, chCfg] of Object.entries(cfg.channels)) {
    const def = findDefinition(opts.registry.channels, chCfg.kind, 'channel');
    const clog = log.child({ channel: id });
    const channel = { id, kind: def.kind };
    const instance: ChannelInstance = await def.create(def.options.parse(withoutKind(chCfg)), {
      channelId: id,
      log: clog,
      kv: prefixedKv(runtime, `channel:${id}:`),
      blobs: runtime.blobs,
      dataDir,
      publicUrl: cfg.server.publicUrl,
      retention: cfg.retention,
      noteToAgents: async (externalId, text, dedupeKey) => {
        const link = await runtime.links.get(conversationKey(id, externalId));
        if (!link) return clog.warn({ conversation: externalId }, 'nothing to note on: no ticket is linked to this conversation yet');
        await runtime.enqueue([noteJob(link.ticketId, text, `note:${id}:${dedupeKey}`)]);
      },
      replyAgain: async (externalId, reply, dedupeKey) => {
        const link = await runtime.links.get(conversationKey(id, externalId));
        if (!link) return clog.warn({ conversation: externalId }, 'nothing to reply to: no ticket is linked to this conversation');
        await runtime.enqueue([againJob(link, reply, `again:${id}:${dedupeKey}`)]);
      },
      afterSends: async (externalId, work, dedupeKey) => {
        await runtime.enqueue([afterSendsJob(id, externalId, work, `later:${id}:${dedupeKey}`)]);
      },
      conversationForTicket: async (ticketId) => {
        const link = await runtime.links.byTicket(ticketId);
        return link && link.channelId === id ? link.conversation.externalId : undefined;
      },
      accept: async (drafts: InboundDraft[]) => {
        const receivedAt = new Date().toISOString();
        // Card numbers are masked here, before the journal: nothing downstream ever holds one.
        const messages = drafts.map((d) => {
          const parsed = NormalizedMessageParser.safeParse({ ...d, id: newId(), receivedAt, channel });
          if (parsed.success) return maskMessage(parsed.data, cfg.privacy);
          // A draft the schema refuses came from the sender's input: a 4xx for it, never a redelivery loop.
          const issue = parsed.error.issues[0];
          throw new InvalidInput(issue?.path.join('.') || 'message', issue?.message ?? 'is not a valid message');
        });
        const outcomes = await runtime.enqueue(messages.map(inboundJob));
        outcomes.forEach((o, i) => {
          metrics.accept(id, o.duplicate);
          if (o.duplicate) return;
          activity.inbound(id);
          void recordAccepted(runtime, messages[i]!);
        });
        return outcomes;
      },
    });
    channels.set(id, { kind: def.kind, medium: def.medium, ...(def.network ? { network: def.network } : {}), sends: def.sends, instance });
  }

  const notifiers = new Map<string, NotifierInstance>();
  for (const [id, nCfg] of Object.entries(cfg.notifiers)) {
    const def = findDefinition(opts.registry.notifiers ?? [], nCfg.kind, 'notifier');
    notifiers.set(id, await def.create(def.options.parse(withoutKind(nCfg)), { log: log.child({ notifier: id }), kv: prefixedKv(runtime, `notifier:${id}:`) }));
  }

  const calendar = calendarOf(cfg.sla, cfg.timezone);
  // In the runtime's kv, so an event handled by another process sees a ticket this one is creating.
  const linking = ticketsBeingLinked(runtime.kv);
  const timing = createConversationTiming({
    store: runtime.timing,
    kpi: cfg.kpi,
    sla: cfg.sla,
    calendar,
    groups: Object.keys((cfg.helpdesk as { groups?: Record<string, unknown> }).groups ?? {}),
    observe: (sample, labels) => metrics.response(sample, labels),
    log: log.child({ part: 'timing' }),
  });
  const csat = createCsat({
    options: cfg.csat,
    kv: runtime.kv,
    links: runtime.links,
    channels,
    helpdesk,
    enqueue: (jobs) => runtime.enqueue(jobs),
    timezone: cfg.timezone,
    defaultLanguage: cfg.defaultLanguage,
    publicUrl: cfg.server.publicUrl,
    events: metrics.csat,
    history: runtime.conversations,
    log: log.child({ part: 'csat' }),
    linking,
  });
  const routingLog = new RoutingLog(runtime.kv, cfg.history);
  const pipeline = createPipeline({
    helpdesk,
    channels,
    notifiers,
    links: runtime.links,
    rules: () => rules,
    timezone: cfg.timezone,
    log: log.child({ part: 'pipeline' }),
    fileAttempts: Math.min(3, cfg.delivery.maxAttempts),
    timing,
    history: runtime.conversations,
    rulesFired: (cfg.helpdesk as { rulesFired?: 'tags' | 'note' }).rulesFired,
    identity: createIdentityService({
      store: runtime.identities,
      options: cfg.identity,
      helpdesk,
      helpdeskFields: Object.keys((cfg.helpdesk as { fields?: Record<string, unknown> }).fields ?? {}),
      log: log.child({ part: 'identity' }),
      newId,
    }),
    csat,
    routingLog,
    linking,
  });

  // Production accuracy (`rules eval`) as gauges, where deliveries run and the helpdesk can list tickets.
  const historyReader = cfg.history.evaluate && role !== 'ingress'
    ? createHistoryReader(opts.registry, cfg, { log: log.child({ part: 'routing-accuracy' }), kv: runtime.kv, dataDir, limiter })
    : undefined;
  const evaluateEvery = cfg.history.evaluate;
  const gauges = historyReader && evaluateEvery ? startRoutingGauges({
    registry: metrics.registry,
    everyMs: evaluateEvery.every,
    log: log.child({ part: 'routing-accuracy' }),
    evaluate: () => evaluateRouting({ log: routingLog, reader: historyReader, topics: cfg.topics, since: new Date(Date.now() - evaluateEvery.since) }),
  }) : undefined;

  // Channels that receive in one process only run where their lease is; the rest stand by.
  const exclusive = new Map<string, ReturnType<typeof runExclusively>>();
  const standby = (id: string) => exclusive.has(id) && !exclusive.get(id)!.active();
  const mounted: MountedChannel[] = role === 'worker' ? [] : [...channels].map(([id, c]) => ({
    id,
    kind: c.kind,
    routes: c.instance.routes ?? [],
    status: () => (standby(id) ? { ready: true, state: 'standby', detail: 'standing by: another process runs this channel' } : (c.instance.status?.() ?? { ready: true })),
    inspect: c.instance.inspect?.bind(c.instance),
    actions: c.instance.actions,
  }));
  const app = await buildApp({
    runtime,
    helpdesk,
    csat: { flow: csat, texts: cfg.csat.texts },
    solved: async (tickets) => {
      await timing.solved(tickets.map((t) => t.ticketId), Date.now());
      await csat.solved(tickets);
    },
    channels: mounted,
    metrics,
    log: log.child({ part: 'http' }),
    bodyLimit: cfg.server.bodyLimitBytes,
    trustProxy: cfg.server.trustProxy,
    admin: {
      tokens: cfg.server.adminToken ? { admin: cfg.server.adminToken, viewer: cfg.server.viewerToken } : undefined,
      helpdesk: { kind: helpdesk.kind, requestsPerMinute: requestsPerMinuteOf(cfg.helpdesk), check: helpdesk.check?.bind(helpdesk) },
      activity,
      role,
      testRules: (input) => testRules(rules, input, { channelKind: cfg.channels[input.channel]?.kind ?? 'unknown', timezone: cfg.timezone }),
    },
  });

  if (role !== 'ingress') runtime.startWorker(pipeline, allEvents(metrics.events, activity.events, failuresOnThePath(runtime)));
  const slaWatch = role !== 'ingress' ? startSlaWatch(cfg, runtime, calendar, channels, metrics, log) : undefined;
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
        modelWatcher?.close();
        gauges?.stop();
        await app.close();
        await slaWatch?.close();
        for (const keeper of exclusive.values()) await keeper.close();
        for (const [, c] of channels) await c.instance.stop?.().catch(() => undefined);
        await runtime.close();
        log.info({}, 'switchboard stopped');
      })();
      return closing;
    },
  };
}

/**
 * The SLA watch (it also forgets timings older than kpi.keepDays, so it runs without targets too):
 * in this process on the embedded store, in whichever process holds its lease on Redis.
 */
function startSlaWatch(
  cfg: Config,
  runtime: Runtime,
  calendar: ReturnType<typeof calendarOf>,
  channels: ReadonlyMap<string, ChannelEntry>,
  metrics: ReturnType<typeof createMetrics>,
  log: Logger,
): { close(): Promise<void> } {
  const wlog = log.child({ part: 'sla-watch' });
  const watch = createSlaWatch({
    store: runtime.timing,
    enqueue: (jobs) => runtime.enqueue(jobs),
    sla: cfg.sla,
    calendar,
    channelKinds: new Map([...channels].map(([id, c]) => [id, c.kind])),
    keepDays: cfg.kpi.keepDays,
    declared: (stage, labels) => metrics.slaStage(stage, labels),
    log: wlog,
  });
  const loop = watchLoop(() => watch.tick(), cfg.sla.checkEvery, wlog);
  if (runtime.lease) return runExclusively(runtime.lease('sla-watch'), loop, wlog, 'the SLA watch');
  void loop.start();
  return { close: () => loop.stop() };
}

/** The first step of a conversation's path, with the ids a person may look it up by. */
async function recordAccepted(runtime: Runtime, m: NormalizedMessage): Promise<void> {
  const files = m.attachments.length > 0 ? ` (+${m.attachments.length} file(s))` : '';
  const s = m.sender;
  await runtime.conversations
    .record(conversationKey(m.channel.id, m.conversation.externalId), { at: Date.now(), kind: 'accepted', text: `${m.kind}: ${excerpt(m.text)}${files}` }, [
      m.conversation.externalId, s.externalId, s.username ?? '', s.phone ?? '', s.email ?? '', s.playerId ?? '',
    ])
    .catch(() => undefined);
}

/** A dead-lettered job of a conversation's lane shows on its path, with the error. */
function failuresOnThePath(runtime: Runtime): WorkerEvents {
  return {
    deadLettered(job, _reason, failure) {
      const key = [lanes.inbound(''), lanes.outbound('')].map((p) => (job.lane.startsWith(p) ? job.lane.slice(p.length) : undefined)).find((k) => k);
      if (!key) return;
      void runtime.conversations.record(key, { at: Date.now(), kind: 'failed', text: `${job.kind}: ${failure?.message ?? 'failed'} (in the dead-letter queue)` }).catch(() => undefined);
    },
  };
}

function requestsPerMinuteOf(helpdesk: Config['helpdesk']): number | undefined {
  const rpm = (helpdesk as { requestsPerMinute?: unknown }).requestsPerMinute;
  return typeof rpm === 'number' ? rpm : undefined;
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
  const share = { deliveryShare: cfg.delivery.stormShare, maxWaiting: cfg.delivery.maxWaitingWebhooks };
  const store = cfg.store;
  if (store.kind === 'redis') {
    // Loaded only when used: ioredis costs a one-process deployment memory for nothing.
    const { createRedisRuntime } = await import('./runtime/redis/index.ts');
    return createRedisRuntime({
      url: store.url,
      prefix: store.prefix,
      concurrency: cfg.delivery.concurrency,
      share,
      retry,
      lockDurationMs: store.takeoverAfterMs,
      floodLimit,
      retention: cfg.retention,
      log: log.child({ part: 'store' }),
    });
  }
  return createEmbeddedRuntime({ path: dataDirOf(cfg), concurrency: cfg.delivery.concurrency, share, retry, floodLimit, retention: cfg.retention, log: log.child({ part: 'store' }) });
}

export async function createHelpdesk(
  registry: ConnectorRegistry,
  cfg: Config,
  ctx: { log: Logger; kv: Runtime['kv']; dataDir: string; limiter?: RateLimiter; makeLimiter?: (opts: RateLimiterOptions) => RateLimiter },
): Promise<HelpdeskInstance> {
  const { def, options, limiter } = helpdeskParts(registry, cfg, ctx);
  return def.create(options, { log: ctx.log, kv: ctx.kv, dataDir: ctx.dataDir, limiter });
}

/** The configured helpdesk's ticket history (training, `rules eval`), paced like deliveries; undefined when its kind has no list API. */
export function createHistoryReader(
  registry: ConnectorRegistry,
  cfg: Config,
  ctx: { log: Logger; kv: Runtime['kv']; dataDir: string; limiter?: RateLimiter; makeLimiter?: (opts: RateLimiterOptions) => RateLimiter },
): HistoryReader | undefined {
  const { def, options, limiter } = helpdeskParts(registry, cfg, ctx);
  return def.history?.(options, { log: ctx.log, kv: ctx.kv, dataDir: ctx.dataDir, limiter });
}

/** The rate limiter the helpdesk's requests share, from its documented limits and `requestsPerMinute` (none for the dry run). */
export function createHelpdeskLimiter(
  registry: ConnectorRegistry,
  cfg: Config,
  ctx: { log: Logger; makeLimiter?: (opts: RateLimiterOptions) => RateLimiter },
): RateLimiter | undefined {
  return helpdeskParts(registry, cfg, ctx).limiter;
}

function helpdeskParts(
  registry: ConnectorRegistry,
  cfg: Config,
  ctx: { log: Logger; limiter?: RateLimiter; makeLimiter?: (opts: RateLimiterOptions) => RateLimiter },
) {
  const def = findDefinition(registry.helpdesks, cfg.helpdesk.kind, 'helpdesk');
  const options = def.options.parse(withoutKind(cfg.helpdesk));
  // One limiter paces every request to the helpdesk (a runtime shared by several processes may bring its own).
  const common = HelpdeskCommonOptions.pick({ requestsPerMinute: true }).parse(options);
  const limiter = ctx.limiter ?? helpdeskLimiter(def.rateLimits, common, ctx.log.child({ part: 'rate-limiter' }), ctx.makeLimiter);
  return { def, options, limiter };
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
    set: (k, v, opts) => runtime.kv.set(prefix + k, v, opts),
    delete: (k) => runtime.kv.delete(prefix + k),
    claimInWindow: (k, id, limit, windowMs) => runtime.kv.claimInWindow(prefix + k, id, limit, windowMs),
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
  return explain(rules.compiled, { message, isFirst: input.first, now, timezone: where.timezone, model: rules.model });
}
