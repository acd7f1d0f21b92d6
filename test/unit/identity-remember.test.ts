import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { HelpdeskInstance } from '../../src/core/connector.ts';
import type { Customer, CustomerChange, IdentityStore } from '../../src/core/identity/customer.ts';
import { IdentityOptions } from '../../src/core/identity/options.ts';
import { createIdentityService, REMEMBER_AGAIN_MS } from '../../src/core/identity/service.ts';
import { createEmbeddedIdentities } from '../../src/runtime/embedded/identities.ts';
import { silent } from '../fixtures/log.ts';

/** The customer's record as the store keeps it, and how many writes reached the store. */
function setup() {
  const real = createEmbeddedIdentities(new DatabaseSync(':memory:'));
  const commits: CustomerChange[] = [];
  const store: IdentityStore = {
    find: (ids) => real.find(ids),
    commit: async (change) => {
      commits.push(change);
      return real.commit(change);
    },
  };
  let clock = Date.parse('2026-12-07T12:00:00Z');
  const service = createIdentityService({
    store,
    options: IdentityOptions.parse({}),
    helpdesk: { kind: 'zendesk' } as HelpdeskInstance,
    helpdeskFields: [],
    log: silent,
    newId: () => 'c1',
    now: () => clock,
  });
  const customer: Customer = { id: 'c1', version: 1, identifiers: ['telegram:5'], requesters: { zendesk: 'u1' }, pushed: [], tickets: [] };
  return {
    service,
    commits,
    customer,
    advance: (ms: number) => (clock += ms),
    stored: async () => (await real.find(['telegram:5']))[0]!,
    create: () => real.commit({ expected: [], unowned: ['telegram:5'], put: [customer], remove: [] }),
  };
}

const conversation = { channelId: 'telegram', key: 'telegram:5' };
const ticket = { ticketId: 't1', requesterId: 'u1', topic: 'payments', lastSet: { priority: 'high' as const, tags: ['payments'] } };

describe('identity: the ticket a message went to', () => {
  it("a chat's follow-ups to the same ticket write the customer's record once a minute, not once a message", async () => {
    const t = setup();
    await t.create();
    await t.service.remember(t.customer, ticket, conversation);
    expect(t.commits).toHaveLength(1);
    const first = await t.stored();
    expect(first.tickets).toMatchObject([{ ticketId: 't1', topic: 'payments' }]);

    // Follow-ups within the minute: the record already says all of it.
    for (let i = 0; i < 5; i++) {
      t.advance(5_000);
      await t.service.remember(first, ticket, conversation);
    }
    expect(t.commits).toHaveLength(1);

    // A minute on, the time moves (the join window counts from the customer's last message).
    t.advance(REMEMBER_AGAIN_MS);
    await t.service.remember(first, ticket, conversation);
    expect(t.commits).toHaveLength(2);
    expect((await t.stored()).tickets[0]!.at).toBeGreaterThan(first.tickets[0]!.at);
  });

  it('writes at once what the record does not say yet: a priority the gateway raised, another ticket, another conversation', async () => {
    const t = setup();
    await t.create();
    await t.service.remember(t.customer, ticket, conversation);
    t.advance(1_000);
    await t.service.remember(t.customer, { ...ticket, lastSet: { priority: 'urgent', tags: ['payments'] } }, conversation);
    expect(t.commits).toHaveLength(2);
    expect((await t.stored()).tickets[0]!.lastSet?.priority).toBe('urgent');

    t.advance(1_000);
    await t.service.remember(t.customer, { ...ticket, ticketId: 't2', lastSet: { tags: [] } }, conversation);
    expect(t.commits).toHaveLength(3);
    // t1 is no longer the newest: a message to it moves it back to the front at once.
    t.advance(1_000);
    await t.service.remember(t.customer, { ...ticket, lastSet: { priority: 'urgent', tags: ['payments'] } }, conversation);
    expect(t.commits).toHaveLength(4);
    expect((await t.stored()).tickets.map((x) => x.ticketId)).toEqual(['t1', 't2']);

    t.advance(1_000);
    await t.service.remember(t.customer, { ...ticket, lastSet: { priority: 'urgent', tags: ['payments'] } }, { channelId: 'telegram', key: 'telegram:other' });
    expect(t.commits).toHaveLength(5);
    expect((await t.stored()).conversations).toEqual({ telegram: 'telegram:other' });
  });
});
