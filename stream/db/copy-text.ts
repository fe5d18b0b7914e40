// Rows in PostgreSQL's COPY text format: tab-separated, \N for null, backslash escapes.

import { ByteWriter } from '../byte-writer.js';

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeText(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return typeof value === 'number' ? String(value) : escapeText(value);
}

export function copyLine(fields: Array<string | number | null | undefined>): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

const TAB = 0x09;
const NEWLINE = 0x0a;

/**
 * COPY text written straight into bytes, a field at a time: a batch of tens of thousands of rows
 * built as strings left several strings of garbage per field for the collector.
 */
export class CopyWriter extends ByteWriter {
  constructor(expectedBytes = 64 * 1024) {
    super(expectedBytes);
  }

  /** A text field (null or absent: \N), then a tab, or a newline when it ends the row. */
  text(value: string | null | undefined, last = false): this {
    const field = value === null || value === undefined ? '\\N' : escapeText(value);
    this.room(field.length * 3 + 1);
    this.at += this.buf.write(field, this.at);
    this.buf[this.at++] = last ? NEWLINE : TAB;
    return this;
  }

  /** A safe integer field, written digit by digit (no string made), then a tab or newline. */
  integer(value: number, last = false): this {
    this.room(18);
    if (value < 0) this.buf[this.at++] = 0x2d;
    this.digits(Math.abs(value));
    this.buf[this.at++] = last ? NEWLINE : TAB;
    return this;
  }
}
