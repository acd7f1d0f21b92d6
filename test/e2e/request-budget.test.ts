import { describe, expect, it } from 'vitest';
import { countRequests, HELPDESK_KINDS } from './request-count.ts';

/**
 * The helpdesk's rate limit is spent on messages: with the shipped rules, a new conversation costs
 * at most 2 requests (the requester, the ticket) and a follow-up 1, on every helpdesk. The rules
 * that fired travel as tags in the message's own write; the ticket is read first only when the
 * decision may raise its priority or add tags a helpdesk can only replace. A request count is
 * deterministic: the real gateway process against each fake helpdesk, which records every request.
 */
describe.each(HELPDESK_KINDS)('requests per message into %s (real gateway process, shipped rules)', (kind) => {
  it('a new conversation costs at most 2 requests and a follow-up 1; the other kinds of message cost what they say', async () => {
    const { steps, tickets } = await countRequests(kind);
    const over = steps.filter((s) => s.budget !== undefined && s.requests > s.budget);
    expect(over.map((s) => `${s.name}: ${s.requests} > ${s.budget} (${s.calls.join(', ')})`)).toEqual([]);
    // Nothing is asked twice for one message: no step reads the same ticket twice.
    for (const s of steps) expect(s.calls.filter((c) => c.startsWith('GET ')).length, s.name).toBeLessThanOrEqual(1);
    expect(steps.find((s) => s.name === 'follow-up, same topic')!.calls).toHaveLength(1);
    // The agents still see which rules fired: as tags of the ticket, written with the message.
    expect(tickets[0]).toEqual(expect.arrayContaining(['payments', 'withdrawal', 'rule_withdrawal', 'rule_first-message-subject']));
  }, 120_000);
});
