import { z } from 'zod';
import type { ChannelDefinition, HelpdeskDefinition, NotifierDefinition } from '../core/connector.ts';
import { Replies, Rule } from '../core/rules/schema.ts';
import { DeliverySection, Language, LogSection, PrivacySection, ServerSection, StoreSection, TimeZone } from './sections.ts';

/** A connector kind as the config sees it: its name, options schema and secret option keys. */
export interface ConnectorKind {
  kind: string;
  options: z.ZodObject;
  /** Option keys (dotted for nested ones, e.g. `captcha.secret`) that hold secrets. */
  secrets?: string[];
}

export interface ConnectorRegistry {
  channels: ChannelDefinition[];
  helpdesks: HelpdeskDefinition[];
  notifiers?: NotifierDefinition[];
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
    helpdesk: entries.helpdesk.describe('the helpdesk tickets go to: { kind, …that kind\'s options }'),
    channels: z.record(ConnectorId, entries.channel).default({})
      .describe('channel id (the URL segment: /webhooks/{id}, /forms/{id}) → { kind, …that kind\'s options }'),
    notifiers: z.record(ConnectorId, entries.notifier).default({})
      .describe('notifier id (used by rules as notify: id:target) → { kind, …options }'),
    include: z.array(z.string().min(1)).default([])
      .describe('files, relative to this one, whose rules are appended and whose replies are merged'),
    rules: z.array(Rule).default([]).describe('routing rules, evaluated in order (this file\'s first, then included files\')'),
    replies: Replies.default({}).describe('auto-reply templates: name → { ru, uz, en, default }'),
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

/**
 * Lets an editor accept `${…}` wherever a scalar goes (`port: ${PORT}`, a token with a pattern),
 * since the file is checked before interpolation. Discriminators (`const`) stay exact.
 */
function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = allowReferences(v);
  const type = out.type;
  const scalar = typeof type === 'string' && ['string', 'number', 'integer', 'boolean'].includes(type);
  const strict = type !== 'string' || 'pattern' in out || 'format' in out || 'enum' in out;
  if (!scalar || !strict || 'const' in out) return out;
  const annotations = Object.fromEntries(ANNOTATIONS.filter((k) => k in out).map((k) => [k, out[k]]));
  const value = Object.fromEntries(Object.entries(out).filter(([k]) => !ANNOTATIONS.includes(k)));
  return { ...annotations, anyOf: [value, REFERENCE] };
}

/** JSON Schema of what admins write (io: 'input': defaults are optional), for editors. */
export function configJsonSchema(registry: ConnectorRegistry): Record<string, unknown> {
  const schema = z.toJSONSchema(buildConfigSchema(registry), {
    io: 'input',
    // draft-7: what editors' YAML plugins validate best.
    target: 'draft-7',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    ...(allowReferences(schema) as Record<string, unknown>),
    title: 'Switchboard configuration',
    description: 'switchboard.yaml: server, store, helpdesk, channels, rules and replies. Generated by `switchboard schema`.',
  };
}
