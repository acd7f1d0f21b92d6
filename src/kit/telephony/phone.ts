import { toE164 } from '../../core/identity/phone.ts';

/**
 * Who is on the other end of a call, as a stable key: the normalized phone number (so a
 * caller's next call joins their ticket), a softphone identity, or nobody (withheld number).
 */
export interface Party {
  /** The conversation and sender key. */
  key: string;
  phone?: string;
}

/** Withheld-number markers: PBX words, and the pseudo-numbers Twilio puts in From. */
const ANONYMOUS = new Set(['anonymous', 'unknown', 'private', 'restricted', 'unavailable', 'withheld', '+266696687', '+7378742833', '+2562533', '+86282452253']);

/**
 * +, 00 and formatting handled, and digits that make a valid international number without the
 * `+` (`998901234567`, as Zammad-style PBXs send it) get it; other national formats are kept as
 * sent (the PBX is consistent with itself; the gateway's identities read them with
 * `identity.defaultRegion`).
 */
export function normalizePhone(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim().replace(/^tel:/i, '');
  if (ANONYMOUS.has(s.toLowerCase()) || !/^[+\d\s().-]+$/.test(s)) return undefined;
  const digits = s.replace(/\D/g, '');
  if (digits.length < 2) return undefined;
  if (s.startsWith('+')) return `+${digits}`;
  if (digits.startsWith('00') && digits.length > 8) return `+${digits.slice(2)}`;
  return (digits.length >= 11 ? toE164(`+${digits}`) : undefined) ?? digits;
}

export function partyOf(raw: string | undefined): Party | undefined {
  if (raw === undefined || ANONYMOUS.has(raw.trim().toLowerCase())) return undefined;
  const phone = normalizePhone(raw);
  if (phone) return { key: phone, phone };
  const trimmed = raw.trim();
  // sip:+998901234567@pbx → the number; client:alice or sip:alice@pbx → the identity itself.
  const sipUser = /^sips?:([^@;]+)@/i.exec(trimmed)?.[1];
  const sipPhone = normalizePhone(sipUser);
  if (sipPhone) return { key: sipPhone, phone: sipPhone };
  return trimmed === '' ? undefined : { key: trimmed.toLowerCase() };
}
