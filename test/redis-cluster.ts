// A real Redis Cluster on localhost — 3 masters, each with one replica — from the machine's
// redis-server and redis-cli (Debian's package), in a temporary folder. Every node writes its
// append-only file with `appendfsync always`. Used by the cluster tests, the bench and
// `npm run cluster:up`; stopped and removed at close.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './bench/processes.js';

export interface RedisClusterNode {
  port: number;
  process: ChildProcess | null;
}

export interface LocalRedisCluster {
  /** the folder holding the nodes' files and logs */
  dir: string;
  /** the form REDIS_URL takes for a cluster */
  url: string;
  nodes: RedisClusterNode[];
  /** the port of the master serving a key's slot */
  masterOf(key: string): Promise<number>;
  /** the masters' ports, as the cluster reports them now */
  masters(): Promise<number[]>;
  /** SIGKILLs one node (no shutdown, no final fsync) */
  kill(port: number): void;
  /** starts a killed node again from its own files; it rejoins (as a replica once its slots moved) */
  restart(port: number): Promise<void>;
  /** waits until every slot is served and every master has a replica linked to it */
  healthy(timeoutMs?: number): Promise<void>;
  close(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const NODE_TIMEOUT_MS = 2000;

function nodeArgs(dir: string, port: number, busPort: number): string[] {
  return [
    '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
    '--appendonly', 'yes', '--appendfsync', 'always', '--appendfilename', `appendonly-${port}.aof`, '--appenddirname', `aof-${port}`,
    '--dbfilename', `dump-${port}.rdb`, '--save', '', '--protected-mode', 'no', '--logfile', join(dir, `redis-${port}.log`),
  ];
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function clusterCall(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Starts six nodes and joins them into a cluster (`redis-cli --cluster create --cluster-replicas 1`). */
export async function startRedisCluster(options: { detached?: boolean } = {}): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-redis-cluster-'));
  const ports: Array<{ port: number; bus: number }> = [];
  const taken = new Set<number>();
  while (ports.length < 6) {
    const [port, bus] = [await freePort(), await freePort()];
    if (taken.has(port) || taken.has(bus) || port === bus) continue;
    taken.add(port).add(bus);
    ports.push({ port, bus });
  }
  const busOf = new Map(ports.map((p) => [p.port, p.bus]));
  const launch = (port: number): ChildProcess => {
    const child = spawn('redis-server', nodeArgs(dir, port, busOf.get(port)!), { stdio: 'ignore', detached: options.detached ?? false });
    if (options.detached) child.unref();
    return child;
  };
  const nodes: RedisClusterNode[] = ports.map(({ port }) => ({ port, process: launch(port) }));
  for (const node of nodes) {
    for (let i = 0; !(await ping(node.port)); i++) {
      if (i > 100) throw new Error(`redis-server on port ${node.port} did not start (see ${dir}/redis-${node.port}.log)`);
      await sleep(50);
    }
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { stdio: 'pipe' });

  const cluster: LocalRedisCluster = {
    dir,
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    async masterOf(key) {
      const slot = Number(await clusterCall(nodes.find((n) => n.process)!.port, 'CLUSTER', 'KEYSLOT', key));
      const slots = (await liveCall('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return range[2][1];
    },
    async masters() {
      const slots = (await liveCall('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      return [...new Set(slots.map((s) => s[2][1]))];
    },
    kill(port) {
      const node = nodes.find((n) => n.port === port)!;
      node.process?.kill('SIGKILL');
      node.process = null;
    },
    async restart(port) {
      const node = nodes.find((n) => n.port === port)!;
      node.process = launch(port);
      while (!(await ping(port))) await sleep(50);
    },
    async healthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const info = String(await liveCall('CLUSTER', 'INFO'));
          const slots = (await liveCall('CLUSTER', 'SLOTS')) as unknown[][];
          if (info.includes('cluster_state:ok') && slots.length && slots.every((s) => s.length >= 4)) return;
        } catch {
          // a node is still starting
        }
        if (Date.now() > deadline) throw new Error('the Redis cluster did not become healthy');
        await sleep(200);
      }
    },
    close() {
      for (const node of nodes) node.process?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  async function liveCall(...args: string[]): Promise<unknown> {
    let last: unknown;
    for (const node of nodes.filter((n) => n.process)) {
      try {
        return await clusterCall(node.port, ...args);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }
  await cluster.healthy();
  return cluster;
}
