import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFile, watchModelFile, writeModelFile } from '../../src/config/model-file.ts';
import type { TextModel } from '../../src/core/model/text-model.ts';
import { trainFile, type Example } from '../../src/core/model/train.ts';
import { tempDir, waitFor } from '../e2e/harness.ts';

const A: Example[] = [
  { text: 'вывод не пришел', topic: 'payments' }, { text: 'где мои деньги', topic: 'payments' },
  { text: 'паспорт не принимают', topic: 'kyc' }, { text: 'документы на проверке', topic: 'kyc' },
];
const B: Example[] = [...A, { text: 'приложение не открывается', topic: 'other' }, { text: 'забыл пароль', topic: 'other' }];

describe('model file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir('switchboard-model-file-');
  });
  afterEach(async () => dir.remove());

  it('is written whole (a temporary file renamed over it) and read back', async () => {
    const file = join(dir.path, 'sub', 'model.json');
    await writeModelFile(file, trainFile(A));
    expect(await readdir(join(dir.path, 'sub'))).toEqual(['model.json']);
    expect((await loadModelFile(file)).topics).toEqual(['kyc', 'payments']);
  });

  it('says what is wrong with a file that is not a model', async () => {
    const file = join(dir.path, 'model.json');
    await expect(loadModelFile(file)).rejects.toThrow(/cannot read the model file .*ENOENT/);
    await writeFile(file, '{"format": "switchboard.text-model"');
    await expect(loadModelFile(file)).rejects.toThrow(/not JSON/);
    await writeFile(file, JSON.stringify({ ...trainFile(A), version: 9 }));
    await expect(loadModelFile(file)).rejects.toThrow(/version/);
  });

  it('is reloaded when a new one is written over it; a broken one is refused and reported', async () => {
    const file = join(dir.path, 'model.json');
    await writeModelFile(file, trainFile(A));
    const loaded: TextModel[] = [];
    const errors: Error[] = [];
    const watcher = watchModelFile(file, (m) => loaded.push(m), (e) => errors.push(e), { debounceMs: 20 });
    try {
      await writeModelFile(file, trainFile(B));
      const next = await waitFor('the reloaded model', () => loaded.at(-1));
      expect(next.topics).toEqual(['kyc', 'other', 'payments']);
      await writeFile(file, 'not json');
      await waitFor('the refusal', () => errors.at(-1));
      expect(errors.at(-1)!.message).toContain('not JSON');
      expect(loaded.length).toBe(1);
      expect(await readFile(file, 'utf8')).toBe('not json');
    } finally {
      watcher.close();
    }
  });
});
