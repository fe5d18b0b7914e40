// The stream processor as a process of its own: `tsx stream/main.ts` (npm start forks it; the
// docker compose stack runs it as a scalable service).
import { loadConfig } from '../config/load.js';
import { storeSettingsFromEnv } from './connect.js';
import { createLogger } from './log.js';
import { runProcessor } from './run-processor.js';
import { secretFromEnv } from './secrets.js';

const log = createLogger('processor');
try {
  const userIdKey = secretFromEnv('USER_ID_HASH_KEY', 'demo-user-id-key');
  const running = await runProcessor(loadConfig(), storeSettingsFromEnv(), log, userIdKey, process.env.PROCESSOR_NAME || undefined);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'finishing the batch in flight, then stopping');
    await running.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('disconnect', () => void shutdown('parent exited'));
} catch (err) {
  log.fatal({ err: (err as Error).message }, 'stream processor could not start');
  process.exit(1);
}
