// userIds that are phone numbers or e-mail addresses are never stored in clear: at validation
// they become a keyed hash (HMAC-SHA256 with USER_ID_HASH_KEY), the same for the same person
// however it was written, so attribution and segments still join a customer's events. Other ids
// (CRM numbers, device ids) pass unchanged — and so does an id already hashed, so validating twice
// is harmless.
import { createHmac } from 'node:crypto';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** a mainland mobile number, with or without +86 / 0086 / 86 and separators */
const CN_MOBILE = /^(?:\+?86|0086)?(1[3-9]\d{9})$/;
/** any other number written in international form (E.164: + and 7–15 digits) */
const INTERNATIONAL = /^\+(\d{7,15})$/;
const SEPARATORS = /[\s().-]/g;

/** The normalized personal identifier inside a userId, or null if it is none. */
export function personalIdOf(userId: string): string | null {
  const trimmed = userId.trim();
  if (EMAIL.test(trimmed)) return `email:${trimmed.toLowerCase()}`;
  const digits = trimmed.replace(SEPARATORS, '');
  const mobile = CN_MOBILE.exec(digits);
  if (mobile) return `phone:+86${mobile[1]}`;
  const international = INTERNATIONAL.exec(digits);
  if (international) return `phone:+${international[1]}`;
  return null;
}

export const HASHED_PREFIX = 'h_';

export function createPseudonymizer(key: string): (userId: string) => string {
  if (key.length < 32) throw new Error('USER_ID_HASH_KEY must be at least 32 characters');
  return (userId) => {
    const personal = personalIdOf(userId);
    return personal === null ? userId : HASHED_PREFIX + createHmac('sha256', key).update(personal).digest('base64url').slice(0, 32);
  };
}

const EMAIL_IN_TEXT = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g;
const CN_MOBILE_IN_TEXT = /(?<![\d+])(?:\+?86[\s-]?|0086[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)/g;
const INTERNATIONAL_IN_TEXT = /\+\d(?:[\s-]?\d){6,14}(?!\d)/g;

/** Text kept for people to read (dead letters) with e-mail addresses and phone numbers masked. */
export function redactPersonal(text: string): string {
  return text.replace(EMAIL_IN_TEXT, '[e-mail removed]').replace(CN_MOBILE_IN_TEXT, '[phone removed]').replace(INTERNATIONAL_IN_TEXT, '[phone removed]');
}
