import type { Redis } from 'ioredis';
import type { Logger } from '../../core/connector.ts';
import { CONVERSATION_LOG_LIMITS as LIMITS, searchTerm, type ConversationEvent, type ConversationLog } from '../../core/jobs.ts';
import { LuaScript } from './scripts.ts';

/**
 * One event and its search terms, as one script (it joins the connection's auto-pipeline; a
 * MULTI would be a write of its own). ARGV: convKey event eventsCap termCap retentionMs
 * conversationKey at termKey…
 */
const RECORD = new LuaScript(`
local conv, retention = ARGV[1], tonumber(ARGV[5])
redis.call('RPUSH', conv, ARGV[2])
redis.call('LTRIM', conv, -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', conv, retention)
for i = 8, #ARGV do
  redis.call('ZADD', ARGV[i], ARGV[7], ARGV[6])
  redis.call('ZREMRANGEBYRANK', ARGV[i], 0, -tonumber(ARGV[4]) - 1)
  redis.call('PEXPIRE', ARGV[i], retention)
end
return 1
`);

/**
 * The conversation log in Redis: a capped list per conversation and a capped sorted set per
 * search term, each expiring `retentionMs` after its last write.
 *   P:conv:<conversationKey>  list of event JSON, oldest first
 *   P:convterm:<term>         zset conversationKey -> last seen (ms)
 */
export function redisConversationLog(redis: Redis, prefix: string, log: Logger): ConversationLog {
  const convKey = (key: string) => `${prefix}:conv:${key}`;
  const termKey = (term: string) => `${prefix}:convterm:${term}`;
  return {
    async record(key, event, terms = []) {
      const termKeys = [...new Set(terms.map(searchTerm).filter((t) => t.length > 0))].map(termKey);
      const args = [convKey(key), JSON.stringify(event), LIMITS.eventsPerConversation, LIMITS.conversationsPerTerm, LIMITS.retentionMs, key, event.at, ...termKeys];
      // Best effort: the message itself is safe in the queue whatever happens here.
      await RECORD.run(redis, args).catch((err: unknown) => log.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not record a conversation event'));
    },
    async events(key) {
      return (await redis.lrange(convKey(key), 0, -1)).map((s) => JSON.parse(s) as ConversationEvent);
    },
    async find(raw, limit = LIMITS.conversationsPerTerm) {
      const [keys, exists] = await Promise.all([
        redis.zrevrange(termKey(searchTerm(raw)), 0, limit - 1),
        redis.exists(convKey(raw.trim())),
      ]);
      if (exists === 1 && !keys.includes(raw.trim())) keys.unshift(raw.trim());
      return keys;
    },
  };
}
