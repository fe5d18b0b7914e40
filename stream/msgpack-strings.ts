// MessagePack of nested arrays of strings, the one shape apply-entry.lua reads with Redis's
// cmsgpack. An entry's hot delta travels as one such argument instead of thousands: each argument
// cost the processor a string or two of garbage to frame it, and Redis one to parse it.
//
// Written here rather than taken from a MessagePack library because the bytes of a string must be
// exactly the UTF-8 that ioredis and pg send for it (Buffer's encoding: a lone surrogate becomes
// U+FFFD), or a customer added to a HyperLogLog here and by the reconciler would count twice.

import { ByteWriter } from './byte-writer.js';

export type StringTree = ReadonlyArray<string | StringTree>;

const STR8 = 0xd9;
const STR16 = 0xda;
const STR32 = 0xdb;
const ARRAY16 = 0xdc;
const ARRAY32 = 0xdd;

/** Writes MessagePack arrays (their length first) and strings into one growing buffer. */
export class StringPacker extends ByteWriter {
  constructor() {
    super(64 * 1024);
  }

  array(length: number): void {
    this.room(5);
    if (length <= 0xffff) {
      this.buf[this.at] = ARRAY16;
      this.buf.writeUInt16BE(length, this.at + 1);
      this.at += 3;
    } else {
      this.buf[this.at] = ARRAY32;
      this.buf.writeUInt32BE(length, this.at + 1);
      this.at += 5;
    }
  }

  /** The header is sized by the string's largest UTF-8 length (3 bytes a UTF-16 unit), so the
   *  string is written once; a wider header than needed is still valid MessagePack. */
  string(text: string): void {
    const most = text.length * 3;
    this.room(5 + most);
    const { buf, at } = this;
    if (most <= 0xff) {
      buf[at] = STR8;
      buf[at + 1] = buf.write(text, at + 2);
      this.at = at + 2 + buf[at + 1]!;
    } else if (most <= 0xffff) {
      buf[at] = STR16;
      const n = buf.write(text, at + 3);
      buf.writeUInt16BE(n, at + 1);
      this.at = at + 3 + n;
    } else {
      buf[at] = STR32;
      const n = buf.write(text, at + 5);
      buf.writeUInt32BE(n, at + 1);
      this.at = at + 5 + n;
    }
  }

  tree(value: StringTree): void {
    this.array(value.length);
    for (const item of value) {
      if (typeof item === 'string') this.string(item);
      else this.tree(item);
    }
  }

  /** What was written, in a Buffer of its own; the packer starts again empty (its buffer is kept). */
  take(): Buffer {
    const bytes = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return bytes;
  }
}

const scratch = new StringPacker();

/** The tree as MessagePack (arrays and strings only), in a Buffer of its own. */
export function packStrings(tree: StringTree): Buffer {
  scratch.tree(tree);
  return scratch.take();
}
