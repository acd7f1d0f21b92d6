import { z } from 'zod';

/** The parts of Zendesk's answers this connector reads; everything else passes through untouched. */

const Id = z.number().int();

export const ZdTicket = z.looseObject({
  id: Id,
  status: z.string().nullish(),
  priority: z.string().nullish(),
  requester_id: Id.nullish(),
  external_id: z.string().nullish(),
});
export type ZdTicket = z.infer<typeof ZdTicket>;

export const TicketResponse = z.looseObject({ ticket: ZdTicket });
export const TicketsResponse = z.looseObject({ tickets: z.array(ZdTicket) });

export const ZdUser = z.looseObject({
  id: Id.nullable(),
  name: z.string().nullish(),
  email: z.string().nullish(),
  role: z.string().nullish(),
});
export const UserResponse = z.looseObject({ user: ZdUser });

export const UploadResponse = z.looseObject({ upload: z.looseObject({ token: z.string().min(1) }) });

/** Offset pages carry `next_page`; cursor pages carry `meta.has_more` + `links.next`. */
const Paging = {
  next_page: z.string().nullish(),
  meta: z.looseObject({ has_more: z.boolean().optional() }).optional(),
  links: z.looseObject({ next: z.string().nullish() }).optional(),
};

export const ZdAudit = z.looseObject({
  id: Id,
  metadata: z.looseObject({ custom: z.unknown().optional() }).nullish(),
});
export type ZdAudit = z.infer<typeof ZdAudit>;
export const AuditsPage = z.looseObject({ audits: z.array(ZdAudit), ...Paging });

export const ZdAttachment = z.looseObject({
  file_name: z.string(),
  content_url: z.string(),
  content_type: z.string().nullish(),
  size: z.number().nullish(),
});

export const ZdComment = z.looseObject({
  id: Id,
  author_id: Id.nullish(),
  public: z.boolean().optional(),
  body: z.string().nullish(),
  plain_body: z.string().nullish(),
  html_body: z.string().nullish(),
  attachments: z.array(ZdAttachment).nullish(),
  created_at: z.string().nullish(),
});
export type ZdComment = z.infer<typeof ZdComment>;
export const CommentsPage = z.looseObject({
  comments: z.array(ZdComment),
  users: z.array(ZdUser).optional(),
  ...Paging,
});

export function nextPageOf(page: { next_page?: string | null; meta?: { has_more?: boolean }; links?: { next?: string | null } }): string | undefined {
  if (page.next_page) return page.next_page;
  if (page.meta?.has_more && page.links?.next) return page.links.next;
  return undefined;
}
