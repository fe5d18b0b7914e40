import type { Pool, PoolClient } from 'pg';

/**
 * A client checked out of the pool, with an `error` listener while it is out: pg-pool listens only
 * to idle clients, so a connection that dies between two queries of a checked-out client (the
 * database restarting) would otherwise be an uncaught exception. A client that died, or that the
 * caller asks to destroy, is not handed out again.
 */
export async function checkOut(pool: Pool): Promise<{ client: PoolClient; release: (destroy?: boolean) => void }> {
  const client = await pool.connect();
  let died: Error | undefined;
  const onError = (err: Error) => void (died = err);
  client.on('error', onError);
  return {
    client,
    release(destroy = false) {
      client.removeListener('error', onError);
      client.release(died ?? (destroy || undefined));
    },
  };
}

/** Runs `work` in one transaction on one client: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkOut(pool);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // a client that cannot even roll back has lost its connection: do not hand it out again
    await client.query('ROLLBACK').catch(() => void (broken = true));
    throw err;
  } finally {
    release(broken);
  }
}
