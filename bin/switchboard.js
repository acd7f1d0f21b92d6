#!/usr/bin/env node
// The gateway is TypeScript run by Node's own type stripping (no build step).
// Node 22.13–22.17 needs the flag; newer Node has it on by default.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.features.typescript) {
  await import('../src/cli/main.ts');
} else {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
