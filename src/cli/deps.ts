import type { LoadedConfig } from '../config/load.ts';

/** What command modules get from the program (src/cli/main.ts) so they share its config loading and exit codes. */
export interface CliDeps {
  /** Loads and validates the config (`--config`, else $SWITCHBOARD_CONFIG, else ./switchboard.yaml); exits 2 when it is bad. */
  load(file: string | undefined): Promise<LoadedConfig>;
  /** An error the program prints and exits with: `config` 2, `failure` 1, `notFound` 4. */
  fail(message: string, code: 'config' | 'failure' | 'notFound'): Error;
}
