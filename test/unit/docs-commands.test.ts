import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The README and every guide write the command the one way that works after `npm ci`:
 * `npx switchboard …` (npm runs the package's own bin). A bare `switchboard check` is
 * "command not found" on a fresh clone.
 */
describe('documented commands', () => {
  it('are written `npx switchboard …` in the README, docs/ and the shipped configs', async () => {
    const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
    const files = ['README.md', ...docs, 'config/demo.yaml', 'config/switchboard.example.yaml', 'docker-compose.yml', '.env.example'];
    const bare: string[] = [];
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8');
      text.split('\n').forEach((line, i) => {
        // A command word after `switchboard`, not part of a path, a file name or a metric.
        for (const m of line.matchAll(/(?<![\w/.-])switchboard ([a-z][\w-]*|<command>)/g)) {
          if (!line.slice(0, m.index).endsWith('npx ')) bare.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(bare).toEqual([]);
  });
});
