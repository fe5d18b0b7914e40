// The machine's own ceilings, measured in the same run as our figures.
import { Redis } from 'ioredis';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { deleteKeys } from '../harness.js';

/** redis-benchmark-style: pipelined HINCRBY (the hot-bucket write) for `seconds`, ops/s. */
export async function redisPipelinedWrites(url: string, prefix: string, seconds = 5): Promise<number> {
  const redis = new Redis(url, { protocol: 2 });
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  const started = performance.now();
  while (Date.now() < deadline) {
    const p = redis.pipeline();
    for (let i = 0; i < 1000; i++) p.hincrby(`${prefix}ceiling:${i % 500}`, 'f', 1);
    await p.exec();
    ops += 1000;
  }
  const rate = ops / ((performance.now() - started) / 1000);
  await deleteKeys(redis, `${prefix}ceiling:`);
  redis.disconnect();
  return rate;
}

/** XADD of entries shaped like ingest's (1 000 JSON events each), pipelined: events/s. */
export async function redisStreamAppend(url: string, prefix: string, entryJson: string, eventsPerEntry: number, seconds = 5): Promise<number> {
  const redis = new Redis(url, { protocol: 2 });
  const key = `${prefix}ceiling:stream`;
  const deadline = Date.now() + seconds * 1000;
  let events = 0;
  const started = performance.now();
  while (Date.now() < deadline) {
    const p = redis.pipeline();
    for (let i = 0; i < 20; i++) p.xadd(key, '*', 'events', entryJson);
    p.xtrim(key, 'MAXLEN', 100);
    await p.exec();
    events += 20 * eventsPerEntry;
  }
  const rate = events / ((performance.now() - started) / 1000);
  await redis.del(key);
  redis.disconnect();
  return rate;
}

/** Raw COPY into a table shaped like our raw events table: rows/s. */
export async function postgresCopyRows(url: string, rows = 500_000): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TEMP TABLE ceiling_events (ts timestamptz, id text, type text, channel text, region text, store text,
    campaign text, user_id text, count int, value numeric(20,4))`);
  const base = Date.now();
  function* lines() {
    for (let i = 0; i < rows; i += 1000) {
      let chunk = '';
      for (let j = i; j < i + 1000; j++) {
        chunk += `${new Date(base - j).toISOString()}\tceiling-${j}\tclick\tdouyin\teast\t\\N\tc1\tu${j % 5000}\t1\t0.0000\n`;
      }
      yield chunk;
    }
  }
  const started = performance.now();
  await pipeline(Readable.from(lines()), client.query(copyFrom('COPY ceiling_events FROM STDIN')));
  const rate = rows / ((performance.now() - started) / 1000);
  await client.end();
  return rate;
}
