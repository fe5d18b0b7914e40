// `npm test` on a fresh machine, as `npm start` does: the Redis and PostgreSQL that answer (or
// REDIS_URL / DATABASE_URL), else a redis-server from PATH and an embedded PostgreSQL started for
// the run (data under .data/test); and Debian's Chromium for the browser tests — installed where
// this may (root with apt-get), else the run stops at once with the one command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureLocalStores } from '../server/local-stores.js';
import { createLogger } from '../stream/log.js';
import { CHROMIUM } from './browser/chromium.js';

const PACKAGES = ['chromium', 'fonts-noto-cjk'];

function mayInstall(): boolean {
  return process.getuid?.() === 0 && !spawnSync('apt-get', ['--version']).error;
}

function aptInstall(packages: string[]): void {
  process.stdout.write(`npm test: installing ${packages.join(' ')} (Debian's packages) for the browser tests…\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function ensureChromium(): void {
  const hasCjkFonts = () => /Noto Sans CJK/i.test(spawnSync('fc-list', { encoding: 'utf8' }).stdout ?? '');
  if (!existsSync(CHROMIUM)) {
    if (!mayInstall()) {
      throw new Error(`the browser tests need Chromium at ${CHROMIUM}; install it with: sudo apt-get install -y ${PACKAGES.join(' ')} (or set CHROMIUM_PATH)`);
    }
    aptInstall(PACKAGES);
  } else if (!hasCjkFonts() && mayInstall()) {
    aptInstall(['fonts-noto-cjk']); // the wall is Chinese by default: without them its screenshots show boxes
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  ensureChromium();
  const stores = await ensureLocalStores('.data/test', createLogger('test-stores'));
  // test files (and the processes they start) read these
  process.env.REDIS_URL = stores.redisUrl;
  process.env.DATABASE_URL = stores.databaseUrl;
  return () => stores.stop();
}
