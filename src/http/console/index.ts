import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChannelInspection, Logger } from '../../core/connector.ts';
import { detectLanguage } from '../../core/rules/engine.ts';
import type { Activity } from '../../runtime/activity.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { RulesTestInput } from '../admin.ts';
import type { MountedChannel } from '../app.ts';
import { endSession, identify, overTls, roleOf, safeNext, startSession, type Tokens } from './access.ts';
import { CSS, SCRIPT } from './assets.ts';
import { searchForm, searchResults, type FoundConversation } from './conversations.ts';
import { channelOf, DeadLetterFilter, deadLetterList, dropConfirmation, matches, SCAN_LIMIT } from './dead-letters.ts';
import { linkingSection } from './linking.ts';
import { loginPage } from './login.ts';
import { overviewSection } from './overview.ts';
import { html, page, sendPage, type NavEntry, type PageOptions } from './page.ts';
import { createReporter } from './report.ts';
import { RulesForm, rulesForm, testerResult, type TesterAnswer } from './rules.ts';

export interface ConsoleDeps {
  tokens: Tokens;
  runtime: Runtime;
  channels: MountedChannel[];
  helpdesk: { kind: string; requestsPerMinute?: number; check?(): Promise<string> };
  activity: Activity;
  /** This process's role (all, ingress, worker). */
  role: string;
  testRules(input: RulesTestInput): TesterAnswer;
  log: Logger;
}

/** Forms are small; a bigger body is refused with 413 before it is read. */
const FORM_LIMIT = 64 * 1024;
const LOGIN_LIMIT = 4 * 1024;
const INSPECT_TTL_MS = 30_000;
const INSPECT_TIMEOUT_MS = 5_000;

/** The console's pages and forms, registered in the /admin scope (see admin.ts for access). */
export function registerConsole(admin: FastifyInstance, deps: ConsoleDeps): void {
  const reporter = createReporter({ role: deps.role, runtime: deps.runtime, channels: deps.channels, activity: deps.activity, log: deps.log });
  admin.addHook('onClose', async () => reporter.stop());
  const inspections = new Map<string, { at: number; value: Promise<ChannelInspection | undefined> }>();

  /** Telegram's getWebhookInfo and the like, at most every half minute per channel, never stalling a page. */
  const inspectAll = async (): Promise<Map<string, ChannelInspection>> => {
    const now = Date.now();
    const out = new Map<string, ChannelInspection>();
    await Promise.all(deps.channels.map(async (c) => {
      if (!c.inspect) return;
      let cached = inspections.get(c.id);
      if (!cached || now - cached.at > INSPECT_TTL_MS) {
        const value = Promise.race([
          c.inspect().catch((err: unknown) => ({ problem: `could not inspect: ${err instanceof Error ? err.message : String(err)}`, facts: {} })),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), INSPECT_TIMEOUT_MS).unref()),
        ]);
        inspections.set(c.id, (cached = { at: now, value }));
      }
      const v = await cached.value;
      if (v) out.set(c.id, v);
    }));
    return out;
  };

  // One token per request: a second generateCsrf before the secret cookie exists would mint a new secret.
  const tokens = new WeakMap<FastifyRequest, string>();
  const csrfFor = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    if (req.caller?.via !== 'cookie') return undefined;
    let token = tokens.get(req);
    if (token === undefined) tokens.set(req, (token = reply.generateCsrf({ userInfo: req.caller.sessionId, secure: overTls(req) })));
    return token;
  };

  const render = (req: FastifyRequest, reply: FastifyReply, o: Omit<PageOptions, 'caller' | 'csrf'> & { active: NavEntry }, status = 200) =>
    sendPage(reply, page({ ...o, caller: req.caller, csrf: csrfFor(req, reply) }), status);

  const canAct = (req: FastifyRequest) => req.caller?.role === 'admin';
  const channelIds = () => [...new Set(deps.channels.map((c) => c.id))];

  // ------------------------------------------------------------------ assets, login, logout
  const asset = (body: string, type: string) => async (_req: FastifyRequest, reply: FastifyReply) => reply.header('content-type', type).send(body);
  admin.get('/admin/assets/console.css', { config: { public: true } }, asset(CSS, 'text/css; charset=utf-8'));
  admin.get('/admin/assets/console.js', { config: { public: true } }, asset(SCRIPT, 'text/javascript; charset=utf-8'));

  admin.get<{ Querystring: { next?: string } }>('/admin/login', { config: { public: true, console: true } }, async (req, reply) => {
    const next = safeNext(req.query.next);
    if (identify(req, deps.tokens)) return reply.redirect(next, 303);
    return sendPage(reply, loginPage({ next }));
  });
  admin.post('/admin/login', {
    bodyLimit: LOGIN_LIMIT,
    config: { public: true, console: true, rateLimit: { max: 10, timeWindow: 60_000 } },
  }, async (req, reply) => {
    const form = formOf(req);
    const next = safeNext(form.get('next'));
    const role = roleOf(form.get('token') ?? undefined, deps.tokens);
    if (!role) {
      deps.log.warn({ ip: req.ip }, 'console login refused: wrong token');
      return sendPage(reply, loginPage({ next, error: 'That token is not right.' }), 401);
    }
    startSession(req, reply, role);
    deps.log.info({ ip: req.ip, role }, 'console login');
    return reply.redirect(next, 303);
  });
  admin.post('/admin/logout', { bodyLimit: FORM_LIMIT, config: { console: true, readOnly: true } }, async (_req, reply) => {
    endSession(reply);
    return reply.redirect('/admin/login', 303);
  });

  // ------------------------------------------------------------------ overview
  const overview = async (req: FastifyRequest, reply: FastifyReply, notice?: PageOptions['notice']) => {
    const csrf = csrfFor(req, reply);
    let statsError: string | undefined;
    const [stats, processes, found] = await Promise.all([
      deps.runtime.stats().catch((err: unknown) => void (statsError = err instanceof Error ? err.message : String(err))),
      reporter.all(),
      inspectAll(),
    ]);
    const body = overviewSection({
      stats: stats ?? undefined,
      statsError,
      processes,
      inspections: found,
      fixable: new Set(deps.channels.filter((c) => (c.actions?.length ?? 0) > 0).map((c) => c.id)),
      helpdesk: deps.helpdesk,
      canAct: canAct(req),
      csrf,
    });
    return sendPage(reply, page({ title: 'Overview', active: 'overview', caller: req.caller, csrf, notice, body }));
  };
  admin.get('/admin', { config: { console: true } }, (req, reply) => overview(req, reply));
  admin.post('/admin/helpdesk/check', { bodyLimit: FORM_LIMIT, config: { console: true } }, async (req, reply) => {
    if (!deps.helpdesk.check) return overview(req, reply, { tone: 'bad', text: `The ${deps.helpdesk.kind} helpdesk has no credentials check.` });
    try {
      const said = await deps.helpdesk.check();
      deps.activity.helpdeskChecked();
      return overview(req, reply, { tone: 'ok', text: `The helpdesk accepted the credentials: ${said}` });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      deps.activity.helpdeskChecked(message);
      return overview(req, reply, { tone: 'bad', text: `The helpdesk check failed: ${message}` });
    }
  });

  // ------------------------------------------------------------------ dead letters
  const deadLetters = async (req: FastifyRequest, reply: FastifyReply, filter: DeadLetterFilter, notice?: PageOptions['notice']) => {
    const [all, stats] = await Promise.all([deps.runtime.dlq.list({ limit: SCAN_LIMIT }), deps.runtime.stats().catch(() => undefined)]);
    const items = all.filter((d) => matches(d, filter));
    const channels = [...new Set([...channelIds(), ...all.map(channelOf).filter((c) => c !== '')])].sort();
    const csrf = csrfFor(req, reply);
    const body = deadLetterList({ items, total: stats?.dead ?? all.length, filter, channels, canAct: canAct(req), csrf });
    return sendPage(reply, page({ title: 'Dead letters', active: 'dead-letters', caller: req.caller, csrf, notice, body }));
  };
  admin.get('/admin/dead-letters', { config: { console: true } }, async (req, reply) => {
    const filter = DeadLetterFilter.safeParse(req.query ?? {});
    if (!filter.success) return badForm(req, reply, 'dead-letters', filter.error.issues);
    return deadLetters(req, reply, filter.data);
  });
  /**
   * A dead-letter action: the filter the page had and the dead letters the form names (one
   * `one`, the ticked `id`s, or all that match the filter with `scope=matching`).
   */
  const onDeadLetters = (verb: 'replay' | 'drop', act: (req: FastifyRequest, reply: FastifyReply, form: URLSearchParams, filter: DeadLetterFilter, ids: string[]) => Promise<FastifyReply>) =>
    admin.post(`/admin/dead-letters/${verb}`, { bodyLimit: FORM_LIMIT, config: { console: true } }, async (req, reply) => {
      const form = formOf(req);
      const filter = DeadLetterFilter.safeParse(Object.fromEntries(['channel', 'error', 'age'].map((k) => [k, form.get(k) ?? undefined])));
      if (!filter.success) return badForm(req, reply, 'dead-letters', filter.error.issues);
      const one = form.get('one');
      const ids = one ? [one]
        : form.get('scope') === 'matching' ? (await deps.runtime.dlq.list({ limit: SCAN_LIMIT })).filter((d) => matches(d, filter.data)).map((d) => d.id)
        : form.getAll('id');
      if (ids.length > SCAN_LIMIT || ids.some((id) => id.length > 100)) return badForm(req, reply, 'dead-letters', [{ path: ['id'], message: `at most ${SCAN_LIMIT} ids of at most 100 characters` }]);
      if (ids.length === 0) return deadLetters(req, reply, filter.data, { tone: 'bad', text: `Nothing selected: tick the dead letters to ${verb}.` });
      return act(req, reply, form, filter.data, ids);
    });
  onDeadLetters('replay', async (req, reply, _form, filter, ids) => {
    let replayed = 0;
    for (const id of ids) replayed += await deps.runtime.dlq.replay(id);
    deps.log.info({ replayed, asked: ids.length, ip: req.ip }, 'dead letters replayed from the console');
    const gone = replayed < ids.length ? ` ${ids.length - replayed} were no longer there.` : '';
    return deadLetters(req, reply, filter, { tone: 'ok', text: `Replayed ${replayed} dead letter(s): they are back in their conversation's queue with fresh attempts.${gone}` });
  });
  onDeadLetters('drop', async (req, reply, form, filter, ids) => {
    if (form.get('confirm') !== 'yes') {
      const items = (await Promise.all(ids.map((id) => deps.runtime.dlq.get(id)))).filter((d) => d !== undefined);
      return render(req, reply, { title: 'Drop dead letters?', active: 'dead-letters', body: dropConfirmation({ items, filter, csrf: csrfFor(req, reply) }) });
    }
    let dropped = 0;
    for (const id of ids) dropped += await deps.runtime.dlq.drop(id);
    deps.log.info({ dropped, ip: req.ip }, 'dead letters dropped from the console');
    return deadLetters(req, reply, filter, { tone: 'ok', text: `Dropped ${dropped} dead letter(s).` });
  });

  // ------------------------------------------------------------------ rules
  admin.get('/admin/rules', { config: { console: true } }, async (req, reply) =>
    render(req, reply, { title: 'Rules', active: 'rules', body: rulesForm({ channels: channelIds(), csrf: csrfFor(req, reply) }) }));
  admin.post('/admin/rules', { bodyLimit: FORM_LIMIT, config: { console: true, readOnly: true } }, async (req, reply) => {
    const form = formOf(req);
    const parsed = RulesForm.safeParse(Object.fromEntries(['channel', 'text', 'language', 'followUp'].map((k) => [k, form.get(k) ?? undefined])));
    const csrf = csrfFor(req, reply);
    if (!parsed.success || !channelIds().includes(parsed.data.channel)) {
      const error = parsed.success ? `channel: no channel '${parsed.data.channel}' in this gateway` : issueText(parsed.error.issues);
      const values = { channel: form.get('channel') ?? '', text: form.get('text') ?? '' };
      return sendPage(reply, page({ title: 'Rules', active: 'rules', caller: req.caller, csrf, body: rulesForm({ channels: channelIds(), values, csrf, error }) }), 400);
    }
    const v = parsed.data;
    const answer = deps.testRules({ channel: v.channel, text: v.text, first: v.followUp !== 'on', sender: v.language ? { locale: v.language } : undefined });
    const language = detectLanguage(v.text, v.language || undefined);
    const body = rulesForm({ channels: channelIds(), values: v, csrf }) +
      html`<p>Reply language: <strong>${language}</strong>${v.language ? '' : ' (detected from the text)'}</p>` + testerResult(answer);
    return sendPage(reply, page({ title: 'Rules', active: 'rules', caller: req.caller, csrf, body }));
  });

  // ------------------------------------------------------------------ conversations
  admin.get<{ Querystring: { q?: string } }>('/admin/conversations', { config: { console: true } }, async (req, reply) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : '';
    const found: FoundConversation[] = [];
    if (q !== '') {
      const keys = new Set(await deps.runtime.conversations.find(q));
      // A ticket id also finds its conversation through the links, even before the log knew it.
      const linked = await deps.runtime.links.byTicket(q.replace(/^#/, ''));
      if (linked) keys.add(linked.conversationKey);
      for (const key of [...keys].slice(0, 20)) {
        const [link, events] = await Promise.all([deps.runtime.links.get(key), deps.runtime.conversations.events(key)]);
        found.push({ key, link, events });
      }
    }
    return render(req, reply, { title: 'Conversations', active: 'conversations', body: searchForm(q) + searchResults(q, found) });
  });

  // ------------------------------------------------------------------ linking
  const linking = async (req: FastifyRequest, reply: FastifyReply, notice?: PageOptions['notice']) =>
    render(req, reply, { title: 'Linking', active: 'linking', notice, body: linkingSection({ channels: deps.channels, inspections: await inspectAll(), canAct: canAct(req), csrf: csrfFor(req, reply) }) });
  admin.get('/admin/linking', { config: { console: true } }, (req, reply) => linking(req, reply));
  admin.post<{ Params: { id: string; action: string } }>('/admin/channels/:id/actions/:action', { bodyLimit: FORM_LIMIT, config: { console: true } }, async (req, reply) => {
    const channel = deps.channels.find((c) => c.id === req.params.id);
    const action = channel?.actions?.find((a) => a.name === req.params.action);
    if (!channel || !action) return linking(req, reply, { tone: 'bad', text: `No action '${req.params.action}' for channel '${req.params.id}'.` });
    inspections.delete(channel.id);
    try {
      const said = await action.run();
      deps.log.info({ channel: channel.id, action: action.name, ip: req.ip }, 'channel action run from the console');
      return linking(req, reply, { tone: 'ok', text: `${channel.id}: ${said}` });
    } catch (err) {
      return linking(req, reply, { tone: 'bad', text: `${channel.id}: ${action.label} failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  });

  function badForm(req: FastifyRequest, reply: FastifyReply, active: NavEntry, issues: { path: PropertyKey[]; message: string }[]) {
    return render(req, reply, { title: 'Not understood', active, notice: { tone: 'bad', text: issueText(issues) }, body: html`<p><a href="/admin/${active}">Back</a></p>` }, 400);
  }
}

/** The form as sent, every value of repeated fields kept (`id=a&id=b`); no key can poison anything. */
function formOf(req: FastifyRequest): URLSearchParams {
  return new URLSearchParams(req.rawBody?.toString('utf8') ?? '');
}

function issueText(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || 'form'}: ${i.message}`).join('; ');
}
