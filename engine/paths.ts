// Where the project's own files live, whether running from dist/ or from a checkout.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the project root (package.json beside templates/)');
}

/** The project checkout: package.json, playbooks/, templates/, inventories/, test/fixtures/. */
export const ROOT = findRoot();
export const rootPath = (...parts: string[]): string => join(ROOT, ...parts);
