/**
 * The store's Lua scripts. Each one is a single atomic step in Redis: a state change, its history entry,
 * its audit entry and the index updates happen together or not at all.
 */
import { LuaScript } from './lua';

/** Appends to the audit stream, capped when ARGV maxlen > 0. Shared by create and compareAndSet. */
const AUDIT_FN = `
local function audit(stream, maxlen, fields)
  if tonumber(maxlen) > 0 then
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  else
    redis.call('XADD', stream, '*', unpack(fields))
  end
end
local function tail(from)
  local out = {}
  for i = from, #ARGV do out[#out + 1] = ARGV[i] end
  return out
end
`;

/**
 * KEYS: req, history, audit, pending, byRequester, openof
 * ARGV: id, createdAtMs, state, eventJson, auditMaxLen, openKeyPrefix, nFieldArgs, field/value…, audit field/value…
 * Returns 1 when created, 0 when the id already exists.
 */
export const CREATE_REQUEST = new LuaScript(
  'create-request',
  AUDIT_FN +
    `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local id, createdAt, state = ARGV[1], ARGV[2], ARGV[3]
local nFields = tonumber(ARGV[7])
local fields = {}
for i = 8, 7 + nFields do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('RPUSH', KEYS[2], ARGV[4])
audit(KEYS[3], ARGV[5], tail(8 + nFields))
if state == 'pending' then redis.call('ZADD', KEYS[4], createdAt, id) end
redis.call('ZADD', KEYS[5], createdAt, id)
-- a reservation made for this request now lasts until the request leaves the open states
local openKey = redis.call('GET', KEYS[6])
if openKey then
  redis.call('PERSIST', KEYS[6])
  local full = ARGV[6] .. openKey
  if redis.call('GET', full) == id then redis.call('PERSIST', full) end
end
return 1
`,
);

/**
 * KEYS: req, history, audit, pending, openof, succeeded-of-ServiceAccount index (one per cluster the request serves)…
 * ARGV: id, expectedState, expectedUpdatedAt, doc, nextState, nextUpdatedAt, createdAtMs, releaseOpen (0|1),
 *       hasEvent (0|1), eventJson, auditMaxLen, openKeyPrefix, nextUpdatedAtMs, audit field/value…
 * Returns 1 when replaced, 0 when state or updatedAt differ, -1 when the request does not exist.
 */
export const COMPARE_AND_SET = new LuaScript(
  'compare-and-set',
  AUDIT_FN +
    `
local cur = redis.call('HMGET', KEYS[1], 'state', 'updatedAt')
if not cur[1] then return -1 end
if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return 0 end
local id = ARGV[1]
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'state', ARGV[5], 'updatedAt', ARGV[6])
if ARGV[5] == 'pending' then
  redis.call('ZADD', KEYS[4], ARGV[7], id)
else
  redis.call('ZREM', KEYS[4], id)
end
if ARGV[8] == '1' then
  local openKey = redis.call('GET', KEYS[5])
  if openKey then
    local full = ARGV[12] .. openKey
    if redis.call('GET', full) == id then redis.call('DEL', full) end
    redis.call('DEL', KEYS[5])
  end
end
if ARGV[5] == 'succeeded' then
  for i = 6, #KEYS do redis.call('ZADD', KEYS[i], ARGV[13], id) end
end
if ARGV[9] == '1' then
  redis.call('RPUSH', KEYS[2], ARGV[10])
  audit(KEYS[3], ARGV[11], tail(14))
end
return 1
`,
);

/**
 * KEYS: req. ARGV: nSet, field/value… (nSet pairs), fields to delete…
 * Merges fields into an existing request only; returns 0 when the request does not exist.
 */
export const MERGE_FIELDS = new LuaScript(
  'merge-fields',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local nSet = tonumber(ARGV[1])
if nSet > 0 then
  local pairs_ = {}
  for i = 2, 1 + nSet * 2 do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(pairs_))
end
for i = 2 + nSet * 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return 1
`,
);

/** KEYS: req. ARGV: field prefix. Removes every field with that prefix; 0 when the request does not exist. */
export const DELETE_FIELDS_WITH_PREFIX = new LuaScript(
  'delete-fields-with-prefix',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local p = ARGV[1]
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #p) == p then redis.call('HDEL', KEYS[1], f) end
end
return 1
`,
);

/**
 * KEYS: open, openof(requestId). ARGV: requestId, graceMs, requestKeyPrefix, openKey, terminal states…
 * Returns {1} when the key is now held by requestId, {0, holderId} when another open request holds it.
 * A holder whose request has ended (a missed release) does not block; a reservation whose request was never
 * created blocks only for graceMs.
 */
export const RESERVE_OPEN_KEY = new LuaScript(
  'reserve-open-key',
  `
local id = ARGV[1]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= id then
  local st = redis.call('HGET', ARGV[3] .. holder, 'state')
  local ended = false
  if st then
    for i = 5, #ARGV do if ARGV[i] == st then ended = true end end
  end
  if not ended then return {0, holder} end
end
if redis.call('EXISTS', ARGV[3] .. id) == 1 then
  redis.call('SET', KEYS[1], id)
  redis.call('SET', KEYS[2], ARGV[4])
else
  redis.call('SET', KEYS[1], id, 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
end
return {1}
`,
);

/** KEYS: open. ARGV: requestId or '' (anyone), openofPrefix. Deletes the reservation and the holder's pointer to it. */
export const RELEASE_OPEN_KEY = new LuaScript(
  'release-open-key',
  `
local holder = redis.call('GET', KEYS[1])
if not holder then return 0 end
if ARGV[1] ~= '' and holder ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('DEL', ARGV[2] .. holder)
return 1
`,
);
