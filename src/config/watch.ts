import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Replies, Rule } from '../core/rules/schema.ts';
import { ConfigError, loadConfig, type LoadedConfig } from './load.ts';
import type { Config, ConnectorRegistry } from './schema.ts';

/**
 * Hot reload of rules and replies. Only those two are swapped in a running gateway; every other
 * section is wired into servers, connectors and queues at start, so a change there is reported
 * as "restart needed" and otherwise ignored.
 */

export interface RulesUpdate {
  rules: Rule[];
  replies: Replies;
  /** The whole reloaded config (its non-reloadable sections are not applied). */
  loaded: LoadedConfig;
}

export interface WatchOptions {
  /** Sections that changed on disk but only take effect after a restart, e.g. ['server', 'channels']. */
  onRestartNeeded?(sections: string[]): void;
  /** Quiet time after the last file event before reloading; editors write in several steps. */
  debounceMs?: number;
  /** Environment for `${VAR}` (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Sections applied without a restart (`include` only decides where rules and replies come from). */
const RELOADABLE: readonly string[] = ['rules', 'replies', 'include'];

function changedSections(running: Config, next: Config): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  return [...keys].filter((k) => !RELOADABLE.includes(k)
    && !isDeepStrictEqual((running as Record<string, unknown>)[k], (next as Record<string, unknown>)[k]));
}

function asConfigError(err: unknown): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError([{ file: '', path: '', message: `reload failed: ${(err as Error).message}` }]);
}

/**
 * Watches the main config file and its included files; after each edit re-loads the whole config
 * and, when it is valid and its rules or replies changed, calls `onChange`. An invalid edit calls
 * `onError` and the caller keeps its current rules. Directories are watched rather than files, so
 * editors that save by writing a new file and renaming it over the old one are followed.
 */
export function watchRules(
  loaded: LoadedConfig,
  registry: ConnectorRegistry,
  onChange: (next: RulesUpdate) => void,
  onError: (err: ConfigError) => void,
  options: WatchOptions = {},
): { close(): void } {
  const debounceMs = options.debounceMs ?? 200;
  const running = loaded.config;
  let applied = { rules: loaded.config.rules, replies: loaded.config.replies };
  let files = new Set(loaded.files);
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let reloading = false;
  let again = false;
  let closed = false;

  const onEvent = (dir: string) => (_event: string, name: string | Buffer | null) => {
    // Some platforms omit the name: then any event in the directory counts.
    if (name !== null && !files.has(path.join(dir, name.toString()))) return;
    schedule();
  };

  function sync(list: Iterable<string>): void {
    files = new Set(list);
    const dirs = new Set([...files].map((f) => path.dirname(f)));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, onEvent(dir));
        w.on('error', (err) => onError(asConfigError(new Error(`stopped watching ${dir}: ${err.message}`))));
        watchers.set(dir, w);
      } catch (err) {
        onError(asConfigError(new Error(`cannot watch ${dir}: ${(err as Error).message}`)));
      }
    }
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  }

  async function reload(): Promise<void> {
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    try {
      const next = await loadConfig(loaded.file, registry, options.env);
      if (closed) return;
      sync(next.files);
      const restart = changedSections(running, next.config);
      if (restart.length > 0) options.onRestartNeeded?.(restart);
      const update = { rules: next.config.rules, replies: next.config.replies };
      if (!isDeepStrictEqual(update, applied)) {
        applied = update;
        onChange({ ...update, loaded: next });
      }
    } catch (err) {
      if (closed) return;
      const error = asConfigError(err);
      // Keep watching what we had, plus any newly included file, so fixing it triggers a reload.
      sync([...files, ...error.files]);
      onError(error);
    } finally {
      reloading = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  }

  sync(loaded.files);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
