import { z } from 'zod';
import type { ChannelDefinition, HelpdeskDefinition, NotifierDefinition, OptionWarning } from '../core/connector.ts';
import { CsatOptions } from '../core/csat/options.ts';
import { IdentityOptions } from '../core/identity/options.ts';
import { KpiSection, SlaSection } from '../core/kpi/config.ts';
import { Replies, Rule } from '../core/rules/schema.ts';
import { DeliverySection, Language, LogSection, PrivacySection, ServerSection, StoreSection, TimeZone } from './sections.ts';
import { DEFAULT_TOPICS, HistorySection, ModelSection, TopicsSection } from './learning.ts';
import { RetentionSection } from './retention.ts';

/** A connector kind as the config sees it: its name, options schema and secret option keys. */
export interface ConnectorKind {
  kind: string;
  options: z.ZodObject;
  /** Option keys (dotted for nested ones, e.g. `captcha.secret`) that hold secrets. */
  secrets?: string[];
  /** Valid but risky options, reported as warnings with file:line. */
  warnings?(options: Record<string, unknown>): OptionWarning[];
}

export interface ConnectorRegistry {
  channels: ChannelDefinition[];
  helpdesks: HelpdeskDefinition[];
  notifiers?: NotifierDefinition[];
}

/** Every connector's warnings about its validated options, at their path in the config. */
export function connectorWarnings(config: Config, registry: ConnectorRegistry): OptionWarning[] {
  const entries: [(string | number)[], ConnectorOptions, keyof typeof CONNECTOR_SECTIONS][] = [
    [['helpdesk'], config.helpdesk, 'helpdesk'],
    ...Object.entries(config.channels).map(([id, c]): [(string | number)[], ConnectorOptions, 'channels'] => [['channels', id], c, 'channels']),
    ...Object.entries(config.notifiers).map(([id, n]): [(string | number)[], ConnectorOptions, 'notifiers'] => [['notifiers', id], n, 'notifiers']),
  ];
  return entries.flatMap(([at, options, section]) => {
    const kind: ConnectorKind | undefined = connectorKinds(registry, section).find((k) => k.kind === options.kind);
    return (kind?.warnings?.(options) ?? []).map((w) => ({ path: [...at, ...w.path], message: w.message }));
  });
}

/** A connector's options after validation by its own schema, plus its `kind`. */
export type ConnectorOptions = { kind: string } & Record<string, unknown>;

/** Which registry list a top-level config section draws its kinds from. */
export const CONNECTOR_SECTIONS = {
  helpdesk: { registry: 'helpdesks', label: 'helpdesk', record: false },
  channels: { registry: 'channels', label: 'channel', record: true },
  notifiers: { registry: 'notifiers', label: 'notifier', record: true },
} as const;

export function connectorKinds(registry: ConnectorRegistry, section: keyof typeof CONNECTOR_SECTIONS): ConnectorKind[] {
  return registry[CONNECTOR_SECTIONS[section].registry] ?? [];
}

export const ConnectorId = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/,
  'must be lowercase letters, digits, "-" or "_" (it becomes part of the URL)');

/** One entry of a connector section: `{ kind, …that kind's options }`, strict. */
function connectorEntry(kinds: ConnectorKind[], label: string): z.ZodType<ConnectorOptions> {
  const options = kinds.map((k) =>
    // safeExtend keeps the connector's own refinements (e.g. "secretToken required in webhook mode").
    k.options.safeExtend({ kind: z.literal(k.kind).describe(`${label} kind`) }).strict());
  const [first, ...rest] = options;
  if (first === undefined) {
    return z.looseObject({ kind: z.string() }).superRefine((_v, ctx) => {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: `no ${label} kinds are available in this build` });
    });
  }
  return z.discriminatedUnion('kind', [first, ...rest]) as unknown as z.ZodType<ConnectorOptions>;
}

function composeConfig(entries: { helpdesk: z.ZodType<ConnectorOptions>; channel: z.ZodType<ConnectorOptions>; notifier: z.ZodType<ConnectorOptions> }) {
  return z.strictObject({
    server: ServerSection.prefault({}),
    store: StoreSection.prefault({ kind: 'embedded' }),
    timezone: TimeZone.default('UTC').describe('IANA time zone for rules\' time windows, e.g. Europe/Moscow'),
    defaultLanguage: Language.default('en').describe('language of auto-replies when the customer\'s cannot be told'),
    log: LogSection.prefault({}),
    delivery: DeliverySection.prefault({}),
    privacy: PrivacySection.prefault({}),
    identity: IdentityOptions.prefault({}).describe('customers across channels: phone region, when conversations join, what each channel vouches for'),
    helpdesk: entries.helpdesk.describe('the helpdesk tickets go to: { kind, …that kind\'s options }'),
    channels: z.record(ConnectorId, entries.channel).default({})
      .describe('channel id (the URL segment: /webhooks/{id}, /forms/{id}) → { kind, …that kind\'s options }'),
    notifiers: z.record(ConnectorId, entries.notifier).default({})
      .describe('notifier id (used by rules as notify: id:target) → { kind, …options }'),
    include: z.array(z.string().min(1)).default([])
      .describe('files, relative to this one, whose rules are appended and whose replies are merged'),
    rules: z.array(Rule).default([]).describe('routing rules, evaluated in order (this file\'s first, then included files\')'),
    replies: Replies.default({}).describe('auto-reply templates: name → { ru, uz, en, default }'),
    kpi: KpiSection.prefault({}),
    sla: SlaSection.prefault({}),
    csat: CsatOptions.prefault({}),
    model: ModelSection.optional(),
    topics: TopicsSection.default(() => ({ ...DEFAULT_TOPICS })),
    history: HistorySection.prefault({}),
    retention: RetentionSection.prefault({}),
  });
}

/** The schema of the whole config file, typed loosely where connectors' own schemas decide. */
export type ConfigSchema = ReturnType<typeof composeConfig>;
export type Config = z.output<ConfigSchema>;
export type ConfigInput = z.input<ConfigSchema>;

/** One zod schema for the whole file, composed from each registered connector's options schema. */
export function buildConfigSchema(registry: ConnectorRegistry): ConfigSchema {
  return composeConfig({
    helpdesk: connectorEntry(connectorKinds(registry, 'helpdesk'), 'helpdesk'),
    channel: connectorEntry(connectorKinds(registry, 'channels'), 'channel'),
    notifier: connectorEntry(connectorKinds(registry, 'notifiers'), 'notifier'),
  });
}

const REFERENCE = { type: 'string', pattern: '\\$\\{[^}]+\\}', description: '${ENV}, ${ENV:-default} or ${file:path}' };
const ANNOTATIONS = ['description', 'default', 'title', 'examples'];

/** Rewrites every object of a JSON Schema tree, its children first. */
function rewrite(node: unknown, fn: (out: Record<string, unknown>) => unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, fn));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = rewrite(v, fn);
  return fn(out);
}

/**
 * Lets an editor accept `${…}` wherever a scalar goes (`port: ${PORT}`, a token with a pattern),
 * since the file is checked before interpolation. Discriminators (`const`) stay exact.
 */
function allowReferences(out: Record<string, unknown>): unknown {
  const type = out.type;
  const scalar = typeof type === 'string' && ['string', 'number', 'integer', 'boolean'].includes(type);
  const strict = type !== 'string' || 'pattern' in out || 'format' in out || 'enum' in out;
  if (!scalar || !strict || 'const' in out) return out;
  const annotations = Object.fromEntries(ANNOTATIONS.filter((k) => k in out).map((k) => [k, out[k]]));
  const value = Object.fromEntries(Object.entries(out).filter(([k]) => !ANNOTATIONS.includes(k)));
  return { ...annotations, anyOf: [value, REFERENCE] };
}

/**
 * Rewrites a `oneOf` whose branches all carry one `const` property (`kind: telegram`, …) as
 * if/then per value: editors then check an entry only against the branch its `kind` names, so a
 * typo in a telegram channel is one error about telegram's options instead of one per kind.
 */
function discriminate(out: Record<string, unknown>): unknown {
  const branches = out.oneOf;
  if (!Array.isArray(branches) || branches.length < 2) return out;
  const tag = discriminatorOf(branches);
  if (tag === undefined) return out;
  const values = branches.map((b) => constOf(b, tag)!);
  const { oneOf: _oneOf, ...rest } = out;
  return {
    ...rest,
    type: 'object',
    required: [tag],
    properties: { [tag]: { enum: values } },
    allOf: branches.map((b, i) => ({ if: { properties: { [tag]: { const: values[i] } }, required: [tag] }, then: b })),
  };
}

function constOf(branch: unknown, key: string): string | undefined {
  const props = (branch as { properties?: Record<string, { const?: unknown }> } | null)?.properties;
  const value = props?.[key]?.const;
  return typeof value === 'string' ? value : undefined;
}

function discriminatorOf(branches: unknown[]): string | undefined {
  const first = (branches[0] as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  return Object.keys(first).find((key) => {
    const values = branches.map((b) => constOf(b, key));
    return values.every((v) => v !== undefined) && new Set(values).size === values.length;
  });
}

function editorSchema(schema: z.ZodType, title: string, description: string): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    // draft-7: what editors' YAML plugins validate best.
    target: 'draft-7',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return { ...(rewrite(rewrite(json, allowReferences), discriminate) as Record<string, unknown>), title, description };
}

/** JSON Schema of what admins write (io: 'input': defaults are optional), for editors. */
export function configJsonSchema(registry: ConnectorRegistry): Record<string, unknown> {
  return editorSchema(buildConfigSchema(registry), 'Switchboard configuration',
    'switchboard.yaml: server, store, helpdesk, channels, rules and replies. Generated by `switchboard schema`.');
}

/** What a file named in `include:` may hold: rules and replies (config/rules/igaming.yaml). */
export const RulesFile = z.strictObject({
  rules: z.array(Rule).default([]).describe('routing rules, appended after the including file\'s own'),
  replies: Replies.default({}).describe('auto-reply templates: name → { ru, uz, en, default }'),
});

/** JSON Schema of a rules file, for editors (`# yaml-language-server: $schema=../rules.schema.json`). */
export function rulesJsonSchema(): Record<string, unknown> {
  return editorSchema(RulesFile, 'Switchboard rules file',
    'A file named in include: of switchboard.yaml: rules and replies only. Generated by `switchboard schema --rules`.');
}
