import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { topTopic } from '../../src/core/model/text-model.ts';
import { train } from '../../src/core/model/train.ts';
import { loadLabeled } from '../rules/shipped.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SETS = ['labeled.yaml', 'families.yaml'];

/** test/rules/crossval.ts, the tool behind docs/rules.md's "How the settings were chosen". */
describe('rules cross-validation tool', () => {
  it('scores every message of the chosen sets with a model that did not see it', async () => {
    const { stdout } = await run(process.execPath, ['test/rules/crossval.ts', '--folds', '2', ...SETS.flatMap((s) => ['--sets', s])], { cwd: ROOT });
    const all = SETS.flatMap(loadLabeled);
    const rg = all.filter((m) => m.topic === 'responsible_gaming').length;

    expect(stdout).toContain(`${all.length} messages from 2 sets, 2 folds, l2 0.001, Latin skeletons`);
    const routed = /rules \+ model: (\d+)\/(\d+) topic right .*RG caught (\d+)\/(\d+) .*false urgent (\d+)\/(\d+)/.exec(stdout);
    expect(routed?.slice(2).filter((_, i) => i % 2 === 0).map(Number)).toEqual([all.length, rg, all.length - rg]);

    // Out of fold: clearly below what a model trained on every message scores on those same messages.
    const outOfFold = Number(/model alone: ([\d.]+)% top topic right/.exec(stdout)?.[1]);
    const seen = train(all);
    const inSample = (100 * all.filter((m) => topTopic(seen.score(m.text)).topic === m.topic).length) / all.length;
    expect(outOfFold).toBeGreaterThan(50);
    expect(outOfFold).toBeLessThan(inSample - 5);
  });
});
