// Rows in PostgreSQL's COPY text format: tab-separated, \N for null, backslash escapes.

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
