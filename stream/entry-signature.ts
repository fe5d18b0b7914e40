// Stream entries written by our ingest API carry an HMAC of their payload, so the processor can
// tell them from entries anyone with XADD access wrote: only a valid signature lets it skip
// re-validating (ingest validated those events on arrival); everything else is validated in full,
// time bounds included, whatever its fields claim.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface EntrySigner {
  /** (a Buffer is the payload's UTF-8 bytes: the same signature as its text) */
  sign(payload: string | Buffer): string;
  verify(payload: string, signature: string | undefined): boolean;
}

/** Signs with a key derived from `secret` (USER_ID_HASH_KEY, which the server and every processor hold) for this one use. */
export function createEntrySigner(secret: string): EntrySigner {
  const key = createHmac('sha256', secret).update('marketing-wall stream entry signature v1').digest();
  const sign = (payload: string | Buffer) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    sign,
    verify(payload, signature) {
      if (signature === undefined) return false;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
