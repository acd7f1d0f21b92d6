import type { Redis } from 'ioredis';
import type { Logger } from '../../core/connector.ts';
import { CONVERSATION_LOG_LIMITS as LIMITS, searchTerm, type ConversationEvent, type ConversationLog } from '../../core/jobs.ts';

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
      const m = redis.multi();
      m.rpush(convKey(key), JSON.stringify(event));
      m.ltrim(convKey(key), -LIMITS.eventsPerConversation, -1);
      m.pexpire(convKey(key), LIMITS.retentionMs);
      for (const term of new Set(terms.map(searchTerm).filter((t) => t.length > 0))) {
        m.zadd(termKey(term), event.at, key);
        m.zremrangebyrank(termKey(term), 0, -LIMITS.conversationsPerTerm - 1);
        m.pexpire(termKey(term), LIMITS.retentionMs);
      }
      // Best effort: the message itself is safe in the queue whatever happens here.
      await m.exec().catch((err: unknown) => log.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not record a conversation event'));
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
