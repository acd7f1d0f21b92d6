import { z } from 'zod';

export const Priority = z.enum(['low', 'normal', 'high', 'urgent']);
export type Priority = z.infer<typeof Priority>;

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);

/** Text condition: regexes or plain keywords (any one fires), minus exclusions. Matching is case-insensitive on normalized text. */
export const TextCondition = z.strictObject({
  matches: z.array(z.string()).optional().describe('regular expressions; any one matching fires the condition'),
  keywords: z.array(z.string()).optional().describe('plain substrings; any one present fires the condition'),
  unless: z.array(z.string()).optional().describe('regular expressions that veto the condition when they match'),
});

/** Condition on one string value (sender field, form field, channel). */
export const ValueCondition = z.union([
  z.string(),
  z.array(z.string()),
  z.strictObject({
    equals: z.string().optional(),
    in: z.array(z.string()).optional(),
    matches: z.string().optional(),
    exists: z.boolean().optional(),
  }),
]);

/** Condition on the learned text model's score for one topic (see docs/rules.md, "The text model"). */
export const ModelCondition = z.strictObject({
  topic: z.string().min(1).describe('a topic the model was trained on, e.g. responsible_gaming'),
  atLeast: z.number().min(0).max(1).default(0.5).describe('holds when the topic\'s score (0–1) is at least this'),
  minWords: z.number().int().min(1).optional()
    .describe('holds only for a message of at least this many words: a greeting or a two-word question is too little text for the score to mean much'),
});

export const TimeWindow = z.strictObject({
  days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).optional(),
  from: z.string().regex(/^\d{2}:\d{2}$/, 'HH:MM').optional(),
  to: z.string().regex(/^\d{2}:\d{2}$/, 'HH:MM').optional(),
  timezone: z.string().optional().describe('IANA zone; defaults to the top-level `timezone`'),
});

/** Condition on the customer's player id as the gateway knows it (docs/identity.md). */
export const PlayerCondition = z.strictObject({
  known: z.boolean().optional().describe('true: the customer has a player id (vouched for by a channel or linked before); false: none'),
  id: ValueCondition.optional().describe('the player id: one, a list (a VIP list), or { in, matches }'),
});

export interface Condition {
  channel?: z.infer<typeof ValueCondition>;
  channelKind?: z.infer<typeof ValueCondition>;
  kind?: z.infer<typeof ValueCondition>;
  text?: z.infer<typeof TextCondition>;
  model?: z.input<typeof ModelCondition>;
  sender?: Record<string, z.infer<typeof ValueCondition>>;
  form?: Record<string, z.infer<typeof ValueCondition>>;
  hasAttachment?: boolean;
  first?: boolean;
  time?: z.infer<typeof TimeWindow>;
  player?: z.infer<typeof PlayerCondition>;
  all?: Condition[];
  any?: Condition[];
  atLeast?: AtLeast;
  not?: Condition;
}

/** Holds when at least `count` of the conditions in `of` hold: several weak cues together. */
export interface AtLeast {
  count: number;
  of: Condition[];
}

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.strictObject({
    channel: ValueCondition.optional().describe('channel id(s) from `channels:`'),
    channelKind: ValueCondition.optional().describe('channel kind(s): telegram, webform, …'),
    kind: ValueCondition.optional().describe('message kind(s): message, edit, call, voicemail, form'),
    text: TextCondition.optional(),
    model: ModelCondition.optional().describe('the text model\'s score for a topic: { topic, atLeast }'),
    sender: z.record(z.string(), ValueCondition).optional().describe('conditions on sender fields: phone, email, locale, username, playerId, displayName'),
    form: z.record(z.string(), ValueCondition).optional().describe('conditions on submitted form fields'),
    hasAttachment: z.boolean().optional(),
    first: z.boolean().optional().describe('true: only the first message of a conversation; false: only follow-ups'),
    time: TimeWindow.optional(),
    player: PlayerCondition.optional(),
    all: z.array(Condition).optional(),
    any: z.array(Condition).optional(),
    atLeast: z.strictObject({
      count: z.number().int().min(1).describe('how many of the conditions must hold'),
      of: z.array(Condition),
    }).optional().describe('holds when at least `count` of the conditions in `of` hold'),
    not: Condition.optional(),
  }),
);

export const RuleActions = z.strictObject({
  priority: Priority.optional(),
  tags: z.array(z.string()).optional().describe('added to the tags set so far'),
  type: z.string().optional().describe('ticket type: question, incident, problem, task'),
  group: z.string().optional().describe('symbolic group, mapped to an id in `helpdesk.groups`'),
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional()
    .describe('custom fields by symbolic name (mapped in `helpdesk.fields`); values may use {{placeholders}}'),
  subject: z.string().optional().describe('subject template, e.g. "[{{channel}}] {{text}}"'),
  playerId: z.string().optional()
    .describe("the player id found in the message, e.g. '{{match.id}}': written to the ticket's player field when the customer has none; links identities only when the rule is trusted"),
});

export const Rule = z.strictObject({
  name: z.string().min(1),
  when: Condition.optional().describe('all listed conditions must hold; omitted: always'),
  set: RuleActions.optional(),
  reply: z.string().optional().describe('name of an entry in `replies:` sent to the customer at once'),
  notify: oneOrMany(z.string()).optional().describe('notifier targets, e.g. slack:compliance'),
  stop: z.boolean().optional().describe('stop evaluating further rules when this one fires'),
  trusted: z.boolean().optional()
    .describe("the player id this rule sets is proof of who the sender is (only for text from the operator's own systems); default false"),
});
export type Rule = z.infer<typeof Rule>;

/** A reply template per language; `default` or the first entry is used when the customer's language is missing. */
export const ReplyTemplate = z.record(z.string(), z.string());
export const Replies = z.record(z.string(), ReplyTemplate);
export type Replies = z.infer<typeof Replies>;

export const Decision = z.object({
  priority: Priority.optional(),
  tags: z.array(z.string()),
  type: z.string().optional(),
  group: z.string().optional(),
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  subject: z.string().optional(),
  /** Reply template names, in firing order. */
  replies: z.array(z.string()),
  notify: z.array(z.string()),
  firedRules: z.array(z.string()),
  /** The player id a rule found in the message, and whether that rule is trusted to link identities. */
  player: z.object({ id: z.string(), trusted: z.boolean(), rule: z.string() }).optional(),
  /** The text model's scores, when a rule asked for them, and the fired rules that did. */
  model: z.object({ scores: z.record(z.string(), z.number()), usedBy: z.array(z.string()) }).optional(),
});
export type Decision = z.infer<typeof Decision>;
