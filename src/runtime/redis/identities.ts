import type { Redis } from 'ioredis';
import type { Customer, CustomerChange, IdentityStore } from '../../core/identity/customer.ts';
import { LuaScript } from './scripts.ts';

/**
 * Customers in Redis: `<p>:cust:<id>` is a hash {v: version, d: json}, `<p>:ident:<identifier>`
 * the customer id. A commit is one script: it checks the versions the change was planned on
 * and that identifiers read as nobody's still are, then writes everything, so two processes
 * linking the same customer never lose a link nor make two customers of one.
 *
 * ARGV: P, nExpected, (id, version)*, nUnowned, identifier*, nPut, (id, version, json, nIdentifiers, identifier*)*, nRemove, id*
 */
const COMMIT = new LuaScript(`
local p = ARGV[1]
local i = 2
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local v = redis.call('HGET', p .. ':cust:' .. ARGV[i], 'v')
  if (not v) or tonumber(v) ~= tonumber(ARGV[i + 1]) then return 0 end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if redis.call('EXISTS', p .. ':ident:' .. ARGV[i]) == 1 then return 0 end
  i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local id = ARGV[i]
  redis.call('HSET', p .. ':cust:' .. id, 'v', ARGV[i + 1], 'd', ARGV[i + 2])
  local m = tonumber(ARGV[i + 3]); i = i + 4
  for _ = 1, m do
    -- most writes keep the customer's identifiers: a read costs Redis less than a write and adds nothing to the AOF
    local k = p .. ':ident:' .. ARGV[i]
    if redis.call('GET', k) ~= id then redis.call('SET', k, id) end
    i = i + 1
  end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('DEL', p .. ':cust:' .. ARGV[i])
  i = i + 1
end
return 1
`);

/**
 * The customers of these identifiers, read in one step: read apart, a merge committed in between
 * would show an identifier's old customer already deleted, as if the identifier were nobody's.
 *
 * ARGV: P, identifier* → the customers' JSON, each once
 */
const FIND = new LuaScript(`
local p = ARGV[1]
local seen, out = {}, {}
for i = 2, #ARGV do
  local id = redis.call('GET', p .. ':ident:' .. ARGV[i])
  if id and not seen[id] then
    seen[id] = true
    local d = redis.call('HGET', p .. ':cust:' .. id, 'd')
    if d then out[#out + 1] = d end
  end
end
return out
`);

export function createRedisIdentities(redis: Redis, prefix: string): IdentityStore {
  return {
    async find(identifiers) {
      if (identifiers.length === 0) return [];
      const rows = (await FIND.run(redis, [prefix, ...identifiers])) as string[];
      return rows.map((row) => JSON.parse(row) as Customer);
    },
    async commit(change: CustomerChange) {
      const args: (string | number)[] = [prefix, change.expected.length];
      for (const e of change.expected) args.push(e.id, e.version);
      args.push(change.unowned?.length ?? 0, ...(change.unowned ?? []));
      args.push(change.put.length);
      for (const c of change.put) args.push(c.id, c.version, JSON.stringify(c), c.identifiers.length, ...c.identifiers);
      args.push(change.remove.length, ...change.remove);
      return Number(await COMMIT.run(redis, args)) === 1;
    },
  };
}
