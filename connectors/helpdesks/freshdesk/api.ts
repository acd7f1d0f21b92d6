import { z } from 'zod';

/** The parts of Freshdesk's answers this connector reads; everything else passes through untouched. */

const Id = z.number().int();

export const FdContact = z.looseObject({
  id: Id,
  name: z.string().nullish(),
  email: z.string().nullish(),
  mobile: z.string().nullish(),
  phone: z.string().nullish(),
  unique_external_id: z.string().nullish(),
});
export const FdContacts = z.array(FdContact);

export const FdAttachment = z.looseObject({
  name: z.string(),
  content_type: z.string().nullish(),
  size: z.number().nullish(),
  attachment_url: z.string(),
});

export const FdTicket = z.looseObject({
  id: Id,
  subject: z.string().nullish(),
  description: z.string().nullish(),
  description_text: z.string().nullish(),
  status: z.number().int().nullish(),
  priority: z.number().int().nullish(),
  tags: z.array(z.string()).nullish(),
  requester_id: Id.nullish(),
  deleted: z.boolean().nullish(),
  created_at: z.string().nullish(),
});
export type FdTicket = z.infer<typeof FdTicket>;
export const FdTickets = z.array(FdTicket);

export const FdConversation = z.looseObject({
  id: Id,
  body: z.string().nullish(),
  body_text: z.string().nullish(),
  incoming: z.boolean().nullish(),
  private: z.boolean().nullish(),
  user_id: Id.nullish(),
  attachments: z.array(FdAttachment).nullish(),
  created_at: z.string().nullish(),
});
export type FdConversation = z.infer<typeof FdConversation>;
export const FdConversations = z.array(FdConversation);

export const FdTicketFields = z.array(z.looseObject({ name: z.string(), choices: z.unknown().optional() }));

export const FdMe = z.looseObject({ id: Id, contact: z.looseObject({ name: z.string().nullish(), email: z.string().nullish() }).nullish() });

/** Freshdesk's statuses. */
export const STATUS = { open: 2, pending: 3, resolved: 4, closed: 5 } as const;

/** A satisfaction rating: `ratings` maps question ids (`default_question`) to values 103 … -103. */
export const FdSatisfactionRating = z.looseObject({ id: Id, ratings: z.record(z.string(), z.number()).nullish() });
export const FdSatisfactionRatings = z.array(FdSatisfactionRating);
