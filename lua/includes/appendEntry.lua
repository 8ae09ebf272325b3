-- Appends one outbox entry: the state changes of one script call, and the counters of every SKU
-- they touched as they stand after the call ({sku, total, available, reserved, sold, version}).
-- The reconciler drains entries into Postgres. Returns the entry's id and text.
local function appendEntry(outboxKey, events, stock)
  local text = cjson.encode({events = events, stock = stock})
  return redis.call('XADD', outboxKey, '*', 'e', text), text
end
