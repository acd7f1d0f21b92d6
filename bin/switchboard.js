#!/usr/bin/env node
// The gateway is TypeScript run by Node's own type stripping (no build step).
// This file is the one place an old Node meets first, so it is plain JavaScript without static
// imports or top-level await: any Node that can parse it says which Node it needs, and stops,
// before anything else can fail in a less helpful way (`bad option: --experimental-strip-types`).
const NEED = [22, 13];
const have = process.versions.node.split('.').map(Number);

if (have[0] < NEED[0] || (have[0] === NEED[0] && have[1] < NEED[1])) {
  console.error(
    `switchboard needs Node.js ${NEED.join('.')} or newer (24 recommended); this is Node ${process.versions.node} (${process.execPath}). ` +
      'Get it with `nvm install` in the switchboard folder (it reads .nvmrc), or run `npx -y node@24 bin/switchboard.js …` instead.',
  );
  process.exit(1);
}

// Node 22.13–22.17 needs the flag; newer Node strips types by default.
if (process.features.typescript) {
  import('../src/cli/main.ts');
} else {
  Promise.all([import('node:child_process'), import('node:url')]).then(([{ spawnSync }, { fileURLToPath }]) => {
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', main, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  });
}
