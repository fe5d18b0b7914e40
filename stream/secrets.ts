// Secrets come from the environment. Demo mode (NODE_ENV ≠ production) generates what is
// missing once and keeps it under .data/, so restarts keep signed-in walls and stable hashes.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectPath } from '../config/project-root.js';

const DATA_DIR = projectPath('.data/');

export class MissingSecretError extends Error {}

/**
 * The secret in `env[name]` (at least 32 characters); in demo mode one kept in .data/<file>,
 * created on first use; in production mode a missing or short one is refused.
 */
export function secretFromEnv(name: string, file: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[name];
  if (given !== undefined && given !== '') {
    if (given.length < 32) throw new MissingSecretError(`${name} must be at least 32 characters.`);
    return given;
  }
  if (env.NODE_ENV === 'production') throw new MissingSecretError(`Production mode needs ${name} (at least 32 characters).`);
  const path = `${DATA_DIR}${file}`;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, secret, { mode: 0o600 });
    return secret;
  }
}
