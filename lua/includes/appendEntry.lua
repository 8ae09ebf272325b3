-- Appends one outbox entry: the state changes of one script call, and the counters of every SKU
-- they touched as they stand after the call ({sku, total, available, reserved, sold, version}).
-- The reconciler drains entries into Postgres.
local function appendEntry(outboxKey, events, stock)
  redis.call('XADD', outboxKey, '*', 'e', cjson.encode({events = events, stock = stock}))
end
