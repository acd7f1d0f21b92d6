import libphonenumber from 'google-libphonenumber';

/**
 * Phone numbers in E.164 (`+998901234567`), the one form every channel's number is compared in.
 * Parsing is google-libphonenumber's, with the configured default region for numbers written
 * nationally: in region UZ, `90 123 45 67`, `998901234567` (digits only, as PBXs send it),
 * `00998901234567` and `+998 90 123-45-67` are all `+998901234567`.
 */

const util = libphonenumber.PhoneNumberUtil.getInstance();
const E164 = libphonenumber.PhoneNumberFormat.E164;

/** ISO 3166 regions libphonenumber knows (UZ, RU, KZ, …), for validating the config. */
export function isPhoneRegion(region: string): boolean {
  return (util.getSupportedRegions() as string[]).includes(region.toUpperCase());
}

function parse(text: string, region: string): libphonenumber.PhoneNumber | undefined {
  try {
    return util.parse(text, region);
  } catch {
    return undefined;
  }
}

/**
 * The number in E.164, or undefined when it is not a phone number. A valid number for the
 * default region wins; digits that are only valid with a `+` in front (an international number
 * sent without it) come next; a merely possible number is the last resort (new ranges that the
 * library's metadata does not know yet).
 */
export function toE164(raw: string | undefined, defaultRegion = 'ZZ'): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().replace(/^tel:/i, '');
  // Letters, SIP users and the like are not numbers; 200 characters is more than any number.
  if (text.length > 200 || !/^[+\d\s().\-/]+$/.test(text)) return undefined;
  const digits = text.replace(/\D/g, '');
  if (digits.length < 5 || digits.length > 17) return undefined;
  const region = defaultRegion.toUpperCase();
  const candidates = [parse(text, region), ...(text.startsWith('+') ? [] : [parse(`+${digits.replace(/^00/, '')}`, 'ZZ')])];
  const found = candidates.find((n) => n !== undefined && util.isValidNumber(n)) ?? candidates.find((n) => n !== undefined && util.isPossibleNumber(n));
  return found ? util.format(found, E164) : undefined;
}
