// One-dimensional PostgreSQL arrays in the binary wire format (array_recv), for parameters that
// carry a batch's thousands of values. node-postgres sends a Buffer parameter as binary; an array
// it would render as text ('{"a","b"}', escaping each element), which was the processor's largest
// allocation site, and PostgreSQL then parsed that text back.
//
// A string's bytes are Buffer's UTF-8 (a lone surrogate becomes U+FFFD), the same bytes pg sends
// for a text parameter, so the ledger keys a customer alike whichever way the id arrived.

import { ByteWriter } from '../byte-writer.js';

const TEXT_OID = 25;
const INT8_OID = 20;
const HEADER_BYTES = 20;

class ArrayWriter extends ByteWriter {
  constructor(length: number, elementOid: number, bytesEach: number) {
    super(HEADER_BYTES + length * bytesEach);
    const { buf } = this;
    buf.writeInt32BE(1, 0); // dimensions
    buf.writeInt32BE(0, 4); // no NULLs
    buf.writeUInt32BE(elementOid, 8);
    buf.writeInt32BE(length, 12);
    buf.writeInt32BE(1, 16); // lower bound
    this.at = HEADER_BYTES;
  }

  text(value: string): void {
    this.room(4 + value.length * 3);
    const n = this.buf.write(value, this.at + 4);
    this.buf.writeInt32BE(n, this.at);
    this.at += 4 + n;
  }

  /** An integer within ±2^53 as int8, in two 32-bit halves (no BigInt per value). */
  int8(value: number): void {
    this.room(12);
    const high = Math.floor(value / 2 ** 32);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeInt32BE(high, this.at + 4);
    this.buf.writeUInt32BE(value - high * 2 ** 32, this.at + 8);
    this.at += 12;
  }
}

/** A text[] parameter, for `$n::text[]`. */
export function textArray<T>(items: readonly T[], value: (item: T) => string): Buffer {
  const writer = new ArrayWriter(items.length, TEXT_OID, 24);
  for (const item of items) writer.text(value(item));
  return writer.bytes();
}

/** A bigint[] parameter of safe integers, for `$n::bigint[]`. */
export function int8Array<T>(items: readonly T[], value: (item: T) => number): Buffer {
  const writer = new ArrayWriter(items.length, INT8_OID, 12);
  for (const item of items) {
    const n = value(item);
    if (!Number.isSafeInteger(n)) throw new RangeError(`int8Array: ${n} is not a safe integer`);
    writer.int8(n);
  }
  return writer.bytes();
}
