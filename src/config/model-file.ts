import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelFile } from '../core/model/model-file.ts';
import { TextModel } from '../core/model/text-model.ts';
import type { LoadedConfig } from './load.ts';

/** Reading, writing and watching the model file named by the config's `model.path`. */

/** The model file's absolute path: `model.path` is relative to the main config file, like `include:`. */
export function modelPathOf(loaded: Pick<LoadedConfig, 'config' | 'file'>): string | undefined {
  const p = loaded.config.model?.path;
  return p === undefined ? undefined : path.resolve(path.dirname(loaded.file), p);
}

export async function loadModelFile(file: string): Promise<TextModel> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the model file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`);
  }
  try {
    return TextModel.fromJSON(json);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Written to a temporary file beside it and renamed over it: a reader never sees half a model. */
export async function writeModelFile(file: string, model: ModelFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(model)}\n`);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Reloads the model when its file changes (a new training run renames a new file over it). The
 * directory is watched, so a rename is seen; a file that does not load keeps the running model.
 */
export function watchModelFile(
  file: string,
  onChange: (model: TextModel) => void,
  onError: (err: Error) => void,
  options: { debounceMs?: number } = {},
): { close(): void } {
  const debounceMs = options.debounceMs ?? 200;
  const dir = path.dirname(file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let watcher: FSWatcher | undefined;
  const reload = () => {
    loadModelFile(file).then((m) => !closed && onChange(m), (err: Error) => !closed && onError(err));
  };
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name !== null && name.toString() !== base) return;
      clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
    });
    watcher.on('error', (err) => onError(new Error(`stopped watching ${dir}: ${err.message}`)));
  } catch (err) {
    onError(new Error(`cannot watch ${dir}: ${(err as Error).message}`));
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** The model the config names, loaded; undefined when the config names none. */
export async function loadConfiguredModel(loaded: Pick<LoadedConfig, 'config' | 'file'>): Promise<TextModel | undefined> {
  const file = modelPathOf(loaded);
  return file === undefined ? undefined : loadModelFile(file);
}
