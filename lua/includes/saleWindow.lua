-- Whether a SKU's sale window is open at `now` (ms, Redis time): from startsAt (inclusive) to
-- endsAt (exclusive); either may be nil (no bound). Outside it a reserve is SALE_NOT_ACTIVE.
local function saleOpen(startsAt, endsAt, now)
  return not ((startsAt and now < startsAt) or (endsAt and now >= endsAt))
end
