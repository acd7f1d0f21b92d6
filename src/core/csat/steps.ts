import { z } from 'zod';

/** The rating flow's work, carried by `csat` jobs; each step is keyed so it happens once. */
export const CsatStep = z.discriminatedUnion('step', [
  /** Ask the customer of a solved ticket (waits for the delay and the quiet hours). */
  z.object({
    step: z.literal('ask'),
    ticketId: z.string(),
    questionId: z.string(),
    solvedAt: z.number(),
    /** The ticket's tags as the solved event reported them. */
    tags: z.array(z.string()).default([]),
  }),
  /** Write the customer's answer to the helpdesk, then thank them or ask what to do better. */
  z.object({
    step: z.literal('rate'),
    questionId: z.string(),
    score: z.number().int().min(1).max(5),
    via: z.enum(['button', 'text', 'link']),
  }),
  /** Say something to the customer in the question's channel. */
  z.object({
    step: z.literal('say'),
    questionId: z.string(),
    what: z.enum(['thanks', 'followUp', 'feedbackThanks']),
  }),
]);
export type CsatStep = z.infer<typeof CsatStep>;
