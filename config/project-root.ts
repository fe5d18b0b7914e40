// Where the project's files are (config/, stream/lua/, .data/, dist/screen/), the same whether a
// module runs from its source under tsx or from the production bundles in dist/node/, whose
// import.meta.url is a different depth below the root.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot find the project's files`);
  }
}

/** the project's root directory, without a trailing slash */
const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** a path inside the project */
export const projectPath = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
