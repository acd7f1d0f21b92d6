import { Api } from 'grammy';
import type { TelegramOptions } from './options.ts';

/** Every outbound Bot API call goes through grammY's client, pointed at `apiRoot`. */
export function createApi(options: Pick<TelegramOptions, 'token' | 'apiRoot' | 'pollingTimeoutSec'>): Api {
  // Long polls legitimately take `pollingTimeoutSec`; anything slower than that plus a margin is a hang.
  return new Api(options.token, { apiRoot: options.apiRoot, timeoutSeconds: options.pollingTimeoutSec + 30 });
}
