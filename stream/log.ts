import pino from 'pino';

/** Structured JSON logs; LOG_LEVEL sets the level (default info, silent in tests). */
export function createLogger(name: string) {
  const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino({ name, level, base: { pid: process.pid } });
}
