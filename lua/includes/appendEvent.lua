-- Appends one state change to the outbox stream; the reconciler drains it into Postgres.
local function appendEvent(outboxKey, event)
  redis.call('XADD', outboxKey, '*', 'e', cjson.encode(event))
end
