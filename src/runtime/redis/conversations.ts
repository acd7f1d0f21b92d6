import type { Redis } from 'ioredis';
import type { Logger } from '../../core/connector.ts';
import { CONVERSATION_LOG_LIMITS as LIMITS, searchTerm, type ConversationEvent, type ConversationLog } from '../../core/jobs.ts';
import { ConversationWrites } from '../conversation-writes.ts';

/**
 * The conversation log in Redis: a capped list per conversation and a capped sorted set per
 * search term, each expiring `retentionMs` after its last write.
 *   P:conv:<conversationKey>  list of event JSON, oldest first
 *   P:convterm:<term>         zset conversationKey -> last seen (ms)
 * Records of one event-loop turn go to Redis together, in one transaction; a record writes little
 * (see ConversationWrites), and readers take the newest `eventsPerConversation` of a list.
 */
export function redisConversationLog(redis: Redis, prefix: string, log: Logger): ConversationLog {
  const convKey = (key: string) => `${prefix}:conv:${key}`;
  const termKey = (term: string) => `${prefix}:convterm:${term}`;
  const writes = new ConversationWrites();
  let batch: ReturnType<Redis['multi']> | undefined;
  let done: Promise<void> | undefined;
  const flush = async (m: ReturnType<Redis['multi']>) => {
    batch = undefined;
    // Best effort: the message itself is safe in the queue whatever happens here.
    await m.exec().then(
      () => undefined,
      (err: unknown) => log.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not record a conversation event'),
    );
  };
  return {
    async record(key, event, raw = []) {
      const { terms, trim } = writes.plan(key, raw, Date.now());
      if (!batch) {
        const m = (batch = redis.multi());
        done = new Promise((resolve) => setImmediate(() => void flush(m).then(resolve)));
      }
      batch.rpush(convKey(key), JSON.stringify(event));
      // Trimmed and its expiry moved on its first record of a minute and every few records after.
      if (trim) batch.ltrim(convKey(key), -LIMITS.eventsPerConversation, -1).pexpire(convKey(key), LIMITS.retentionMs);
      for (const term of terms) {
        batch.zadd(termKey(term), event.at, key);
        batch.zremrangebyrank(termKey(term), 0, -LIMITS.conversationsPerTerm - 1);
        batch.pexpire(termKey(term), LIMITS.retentionMs);
      }
      await done;
    },
    async events(key) {
      return (await redis.lrange(convKey(key), -LIMITS.eventsPerConversation, -1)).map((s) => JSON.parse(s) as ConversationEvent);
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
