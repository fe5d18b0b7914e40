// A buffer written front to back that doubles when it runs out of room: the base of the writers
// that build bytes a field at a time (COPY text, MessagePack, binary arrays, entry JSON) instead of strings.

export class ByteWriter {
  protected buf: Buffer;
  protected at = 0;

  constructor(expectedBytes: number) {
    this.buf = Buffer.allocUnsafe(expectedBytes);
  }

  /** Makes sure `bytes` more fit after what is written. */
  protected room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** A non-negative safe integer in decimal, digit by digit (no string made). */
  protected digits(value: number): void {
    let count = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) count++;
    this.room(count);
    let n = value;
    for (let i = count - 1; i >= 0; i--) {
      this.buf[this.at + i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.at += count;
  }

  /** What was written so far (a view: the writer must not be used after). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}
