import { z } from 'zod';

/** The parts of Usedesk's answers this connector reads; everything else passes through untouched. */

const Id = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

export const Created = z.looseObject({ ticket_id: Id });
export const CommentCreated = z.looseObject({ comment_id: Id.nullish() });
export const ClientCreated = z.looseObject({ client_id: Id });
export const Done = z.looseObject({});

export const ClientHits = z.array(z.looseObject({
  id: Id,
  name: z.string().nullish(),
  phone: z.string().nullish(),
  emails: z.string().nullish(),
}));

export const ClientCard = z.looseObject({
  id: Id,
  messengers: z.array(z.looseObject({ identity: z.union([z.string(), z.number()]).transform(String), type: z.string().nullish() })).nullish(),
  tickets: z.array(Id).nullish(),
});

/** A comment's files: URL strings, or objects naming one. */
const FileRef = z.union([
  z.string(),
  z.looseObject({ file: z.string().optional(), url: z.string().optional(), path: z.string().optional(), name: z.string().nullish() }),
]);
export type FileRef = z.infer<typeof FileRef>;

export const UdComment = z.looseObject({
  id: Id,
  message: z.string().nullish(),
  from: z.string().nullish(),
  type: z.string().nullish(),
  files: z.array(FileRef).nullish(),
  published_at: z.string().nullish(),
});
export type UdComment = z.infer<typeof UdComment>;

export const TicketCard = z.looseObject({
  ticket: z.looseObject({
    id: Id,
    status_id: Id.nullish(),
    priority: z.string().nullish(),
    additional_id: z.string().nullish(),
    channel_id: Id.nullish(),
  }),
  tags: z.array(z.union([z.string(), z.looseObject({ name: z.string() })])).nullish(),
  comments: z.array(UdComment).nullish(),
});
export type TicketCard = z.infer<typeof TicketCard>;

export const ChatAdded = z.looseObject({ chat_id: Id, ticket_id: Id.nullish(), client_id: Id.nullish() });

export const Channels = z.array(z.looseObject({ channel_id: Id, channel_name: z.string().nullish(), channel_type: z.string().nullish() }));

/** Usedesk's ticket statuses. */
export const STATUS = { open: 1, solved: 2, closed: 3, deleted: 4, pending: 6, spam: 7, merged: 10 } as const;

export function tagNames(card: TicketCard): string[] {
  return (card.tags ?? []).map((t) => (typeof t === 'string' ? t : t.name));
}
