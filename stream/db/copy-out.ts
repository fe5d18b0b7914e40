// Rows streamed out of PostgreSQL with COPY … TO STDOUT, one line at a time, so a million rows
// never sit in memory at once. Fields stay in COPY's text form (\N for null, backslash escapes),
// which is what a COPY … FROM STDIN takes back unchanged.
import { createInterface } from 'node:readline';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** `select` must be a query without parameters (COPY takes none); values inline only from trusted code. */
export async function* copyOutRows(client: PoolClient, select: string): AsyncGenerator<string[]> {
  const source = client.query(copyTo(`COPY (${select}) TO STDOUT`));
  for await (const line of createInterface({ input: source, crlfDelay: Infinity })) yield line.split('\t');
}
