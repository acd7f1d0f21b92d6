import { describe, expect, it } from 'vitest';
import type { ChannelRef } from '../../src/core/connector.ts';
import { newCustomer, type Customer } from '../../src/core/identity/customer.ts';
import { answeredCustomer, chosenChannel, routeReply, type ReplyRouteDeps } from '../../src/core/identity/reply-via.ts';
import type { Link } from '../../src/core/jobs.ts';

const CHANNELS = new Map<string, ChannelRef>([
  ['telegram', { id: 'telegram', kind: 'telegram', medium: 'messenger', network: 'telegram' }],
  ['whatsapp', { id: 'whatsapp', kind: 'whatsapp-cloud', medium: 'messenger', network: 'whatsapp' }],
  ['support-mail', { id: 'support-mail', kind: 'email', medium: 'email' }],
  ['site', { id: 'site', kind: 'webform', medium: 'form' }],
]);

function link(channelId: string, externalId: string, sender: Link['conversation']['sender'], ticketId = '55'): Link {
  return { conversationKey: `${channelId}:${externalId}`, channelId, ticketId, requesterId: '900', conversation: { channelId, externalId, subject: 'Вывод', sender }, createdAt: 1, firedRules: ['withdrawal'] };
}

function deps(links: Link[], customer?: Customer): ReplyRouteDeps & { stored: Map<string, Link> } {
  const stored = new Map(links.map((l) => [l.conversationKey, l]));
  return {
    stored,
    links: { get: async (k) => stored.get(k) },
    identity: { customerOf: async (id) => (customer?.identifiers.includes(id) ? customer : undefined), selfOf: (sender) => `user:telegram:${sender.externalId}` },
    channels: CHANNELS,
    now: () => 1000,
  };
}

const telegramLink = link('telegram', '801', { externalId: '801', displayName: 'Dilnoza' });

describe('the reply channel a ticket chooses', () => {
  it('reads reply_via_<channel> in any case, with - written as _; a tag naming no channel is reported', () => {
    const ids = [...CHANNELS.keys()];
    expect(chosenChannel(['vip', 'Reply_Via_Support_Mail'], ids)).toEqual({ channelId: 'support-mail', tag: 'reply_via_support_mail' });
    expect(chosenChannel(['reply_via_support-mail'], ids)).toMatchObject({ channelId: 'support-mail' });
    expect(chosenChannel(['reply_via_viber', 'reply_via_whatsapp'], ids)).toMatchObject({ channelId: 'whatsapp' });
    expect(chosenChannel(['reply_via_viber'], ids)).toEqual({ unknown: 'reply_via_viber' });
    expect(chosenChannel(['payments', 'reply_via_'], ids)).toBeUndefined();
  });

  it('goes to the customer\'s conversation on the chosen channel; without a tag, where they wrote last', async () => {
    const whatsapp = link('whatsapp', '998901234567', { externalId: '998901234567', phone: '+998901234567' });
    const customer = { ...newCustomer('c1', ['user:telegram:801', 'user:whatsapp:998901234567']), conversations: { telegram: telegramLink.conversationKey, whatsapp: whatsapp.conversationKey } };
    const d = deps([telegramLink, whatsapp], customer);
    expect(await routeReply(d, '55', telegramLink, [])).toEqual({ link: telegramLink, notes: [] });
    expect(await routeReply(d, '55', telegramLink, ['reply_via_whatsapp'])).toEqual({ link: whatsapp, notes: [] });
    expect(await routeReply(d, '55', telegramLink, ['reply_via_telegram'])).toEqual({ link: telegramLink, notes: [] });
    // A mail thread the gateway opened is the customer's it was opened for, before their address is verified.
    const opened = link('support-mail', 'ticket-55-to-x', { externalId: 'x@customer.test', email: 'x@customer.test' });
    opened.conversation.meta = { openedFor: 'user:telegram:801', openedTo: 'x@customer.test' };
    expect(await routeReply(d, '55', opened, ['reply_via_whatsapp'])).toEqual({ link: whatsapp, notes: [] });
  });

  it('says why on the ticket when it cannot go there: no conversation of the customer on that channel, or no such channel', async () => {
    const d = deps([telegramLink], newCustomer('c1', ['user:telegram:801']));
    const none = await routeReply(d, '55', telegramLink, ['reply_via_whatsapp']);
    expect(none.link).toBe(telegramLink);
    expect(none.notes).toEqual(['the ticket asks for replies via whatsapp (tag reply_via_whatsapp), but the gateway knows no conversation of this customer there; the reply went to telegram, where the customer wrote last.']);
    const unknown = await routeReply(d, '55', telegramLink, ['reply_via_viber']);
    expect(unknown.link).toBe(telegramLink);
    expect(unknown.notes[0]).toMatch(/^the ticket's tag reply_via_viber names no channel of this gateway \(the tags are reply_via_telegram, reply_via_whatsapp, reply_via_support_mail, reply_via_site\)/);
    // An email channel without any address of the customer's to write to: the same.
    expect((await routeReply(d, '55', telegramLink, ['reply_via_support-mail'])).notes[0]).toMatch(/knows no conversation of this customer there/);
  });

  it('an email channel opens one thread per ticket and address: a proven address first, else one the customer gave', async () => {
    const proven = deps([telegramLink], newCustomer('c1', ['user:telegram:801', 'email:dilnoza@customer.test']));
    const opened = await routeReply(proven, '55', telegramLink, ['reply_via_support-mail']);
    expect(opened.link.conversation).toEqual({
      channelId: 'support-mail',
      externalId: expect.stringMatching(/^ticket-55-to-[0-9a-f]{24}$/),
      subject: 'Вывод',
      sender: { externalId: 'dilnoza@customer.test', email: 'dilnoza@customer.test', displayName: 'Dilnoza' },
      meta: { openedFor: 'user:telegram:801', openedTo: 'dilnoza@customer.test' },
    });
    expect(opened.link).toMatchObject({ ticketId: '55', requesterId: '900', firedRules: ['withdrawal'] });
    expect(opened.notes).toEqual(['sent by email to dilnoza@customer.test, as the ticket asks (tag reply_via_support_mail)']);
    // Routing stores nothing: the thread is the delivery's outcome, written with its completion.
    expect(opened.opened).toBe(true);
    expect(proven.stored.has(opened.link.conversationKey)).toBe(false);
    // Once stored, the next reply goes into the same thread, which is not opened again.
    proven.stored.set(opened.link.conversationKey, opened.link);
    expect(await routeReply(proven, '55', telegramLink, ['reply_via_support-mail'])).toEqual({ link: opened.link, notes: opened.notes });

    const form = link('site', 'sub-1', { externalId: 'sub-1', email: 'Typed@Customer.test' });
    const given = deps([telegramLink, form], { ...newCustomer('c2', ['user:telegram:801']), conversations: { site: form.conversationKey } });
    const claimed = await routeReply(given, '55', telegramLink, ['reply_via_support-mail']);
    expect(claimed.link.conversation.sender.email).toBe('Typed@Customer.test');
    expect(claimed.link.conversation.meta).toEqual({ openedFor: 'user:telegram:801', openedTo: 'typed@customer.test' });
    expect(claimed.notes[0]).toMatch(/not verified yet: their answer from it links it to them/);
    // Something that is not an address is not written to.
    const junk = link('site', 'sub-2', { externalId: 'sub-2', email: 'nobody <x@y> , z@w' });
    expect((await routeReply(deps([junk], newCustomer('c3', ['user:site:sub-2'])), '56', junk, ['reply_via_support-mail'])).notes[0]).toMatch(/knows no conversation/);
  });

  it('a verified answer from the address the thread was opened to names whom it was opened for; nothing else does', () => {
    const conversation = { meta: { openedFor: 'user:telegram:801', openedTo: 'dilnoza@customer.test' } };
    expect(answeredCustomer(conversation, { sender: { externalId: 'x', email: 'Dilnoza@customer.test', addressVerified: true } })).toBe('user:telegram:801');
    expect(answeredCustomer(conversation, { sender: { externalId: 'x', email: 'dilnoza@customer.test' } })).toBeUndefined();
    expect(answeredCustomer(conversation, { sender: { externalId: 'x', email: 'brother@customer.test', addressVerified: true } })).toBeUndefined();
    expect(answeredCustomer({ meta: { lastMessageId: '<a@b>' } }, { sender: { externalId: 'x', email: 'dilnoza@customer.test', addressVerified: true } })).toBeUndefined();
    expect(answeredCustomer(undefined, { sender: { externalId: 'x', email: 'dilnoza@customer.test', addressVerified: true } })).toBeUndefined();
  });
});
