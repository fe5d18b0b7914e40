// A buffer written front to back that doubles when it runs out of room: the base of the writers
// that build bytes a field at a time (COPY text, MessagePack) instead of strings.

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
}
