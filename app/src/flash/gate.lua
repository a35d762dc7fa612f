local op, now = ARGV[1], tonumber(ARGV[2])
local loaded = redis.call('EXISTS', KEYS[5]) == 1
local function meta(f) return redis.call('HGET', KEYS[5], f) end
local function live()
  return meta('closed') ~= '1' and now >= tonumber(meta('starts')) and now < tonumber(meta('ends'))
end
local function lapse()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now)
  for _, b in ipairs(gone) do redis.call('HDEL', KEYS[7], b) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now) end
end
local function place(buyer)
  local exp = redis.call('ZSCORE', KEYS[8], buyer)
  if exp and tonumber(exp) > now then return {1, redis.call('HGET', KEYS[7], buyer), tonumber(exp)} end
  local rank = redis.call('ZRANK', KEYS[6], buyer)
  if rank then return {2, rank + 1} end
  return {3}
end
local function split(data)
  local a = string.find(data, '|', 1, true)
  local b = string.find(data, '|', a + 1, true)
  return tonumber(string.sub(data, 1, a - 1)), string.sub(data, a + 1, b - 1), string.sub(data, b + 1)
end
local function give_back(hold_id)
  local data = redis.call('HGET', KEYS[3], hold_id)
  if not data then return 0 end
  local qty, buyer = split(data)
  redis.call('HDEL', KEYS[3], hold_id)
  if redis.call('HGET', KEYS[4], buyer) == hold_id then redis.call('HDEL', KEYS[4], buyer) end
  redis.call('INCRBY', KEYS[1], qty)
  if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then redis.call('HDEL', KEYS[2], buyer) end
  return 1
end

if op == 'warm' then
  -- ARGV[3] = '1' replaces the figures of a loaded sale (edited before its start), keeping its line.
  if loaded and ARGV[3] ~= '1' then return 0 end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  if not loaded then redis.call('HSET', KEYS[5], 'closed', '0', 'round', '0') end
  redis.call('HSET', KEYS[5], 'starts', ARGV[4], 'ends', ARGV[5], 'limit', ARGV[6], 'secret', ARGV[7])
  redis.call('SET', KEYS[1], ARGV[8])
  local nbought, i = tonumber(ARGV[9]), 10
  for _ = 1, nbought do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
  while i <= #ARGV do
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3])
    redis.call('HSET', KEYS[4], ARGV[i + 2], ARGV[i])
    i = i + 4
  end
  return 1
elseif op == 'close' then
  if loaded then redis.call('HSET', KEYS[5], 'closed', '1') end
  redis.call('DEL', KEYS[6], KEYS[7], KEYS[8])
  return 1
elseif op == 'take' then
  if not loaded then return {6} end
  if not live() then return {5} end
  local buyer, token, qty = ARGV[3], ARGV[4], tonumber(ARGV[5])
  lapse()
  if redis.call('HGET', KEYS[7], buyer) ~= token then return {4} end
  local holding = redis.call('HGET', KEYS[4], buyer)
  if holding then return {7, holding} end
  local limit = tonumber(meta('limit'))
  local already = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
  if already + qty > limit then return {2, already, limit} end
  local remaining = tonumber(redis.call('GET', KEYS[1]) or '0')
  if remaining < qty then return {1, remaining} end
  redis.call('DECRBY', KEYS[1], qty)
  redis.call('HINCRBY', KEYS[2], buyer, qty)
  redis.call('HSET', KEYS[3], ARGV[6], qty .. '|' .. buyer .. '|' .. ARGV[7])
  redis.call('HSET', KEYS[4], buyer, ARGV[6])
  return {0, remaining - qty}
elseif op == 'release' then
  return give_back(ARGV[3])
elseif op == 'commit' then
  local data = redis.call('HGET', KEYS[3], ARGV[3])
  if not data then return 0 end
  local _, buyer = split(data)
  redis.call('HDEL', KEYS[3], ARGV[3])
  if redis.call('HGET', KEYS[4], buyer) == ARGV[3] then redis.call('HDEL', KEYS[4], buyer) end
  return 1
elseif op == 'extend' then
  local data = redis.call('HGET', KEYS[3], ARGV[3])
  if not data then return 0 end
  local qty, buyer = split(data)
  redis.call('HSET', KEYS[3], ARGV[3], qty .. '|' .. buyer .. '|' .. ARGV[4])
  return 1
elseif op == 'join' then
  if not loaded then return {5} end
  if meta('closed') == '1' or now >= tonumber(meta('ends')) then return {4} end
  local buyer, ticket, draw = ARGV[3], ARGV[4], ARGV[5]
  local p = place(buyer)
  if p[1] ~= 3 then return p end
  local score
  if draw ~= '' then
    redis.call('ZADD', KEYS[9], draw, ticket)
    score = draw
  else
    score = tonumber(ARGV[6]) + redis.call('INCR', KEYS[10])
  end
  redis.call('ZADD', KEYS[6], score, buyer)
  return place(buyer)
elseif op == 'place' then
  if not loaded then return {5} end
  if meta('closed') == '1' then return {4} end
  return place(ARGV[3])
elseif op == 'leave' then
  local n = redis.call('ZREM', KEYS[6], ARGV[3]) + redis.call('ZREM', KEYS[8], ARGV[3])
  redis.call('HDEL', KEYS[7], ARGV[3])
  return n
elseif op == 'admit' then
  if not loaded then return {0, 0, 0, 0} end
  local remaining = tonumber(redis.call('GET', KEYS[1]) or '0')
  local second = math.floor(now / 1000)
  if not live() or tonumber(meta('round')) >= second then
    return {0, 0, redis.call('ZCARD', KEYS[6]), remaining}
  end
  redis.call('HSET', KEYS[5], 'round', second)
  lapse()
  local admitted = 0
  if remaining > 0 then
    local secret, exp = meta('secret'), ARGV[4]
    local popped = redis.call('ZPOPMIN', KEYS[6], tonumber(ARGV[3]))
    for i = 1, #popped, 2 do
      local buyer = popped[i]
      redis.call('HSET', KEYS[7], buyer, redis.sha1hex(secret .. ':' .. buyer .. ':' .. exp))
      redis.call('ZADD', KEYS[8], exp, buyer)
      admitted = admitted + 1
    end
  end
  return {1, admitted, redis.call('ZCARD', KEYS[6]), remaining}
end
return redis.error_reply('unknown gate op ' .. tostring(op))
