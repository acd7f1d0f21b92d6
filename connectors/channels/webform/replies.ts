import type { Conversation, SendResult } from '../../../src/core/connector.ts';

/**
 * A web form has no way back to the customer. The reply is not lost: the notes become a
 * private note on the ticket telling the agent how to reach the customer instead.
 */
export function undeliverableReply(formId: string, to: Conversation): SendResult {
  const { email, phone } = to.sender;
  const lead = `Reply not sent to the customer: they wrote through the web form "${formId}", which cannot carry answers.`;
  let how: string;
  if (email) {
    how = `Answer them by email at ${email}${phone ? ` (phone: ${phone})` : ''}. With an email channel in Switchboard, tag this ticket reply_via_<that channel's id> and replies go to them by email.`;
  } else if (phone) {
    how = `They left no email; call or text them at ${phone}.`;
  } else {
    how = 'They left no email or phone, so there is no way to answer them.';
  }
  return { externalIds: [], notes: [`${lead} ${how}`] };
}
