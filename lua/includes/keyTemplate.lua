-- A key from a template the key module passed in ARGV ("...%s..." with the SKU, or an id, for
-- %s), so key shapes stay defined in one TypeScript module (src/redis/keys.ts).
local function fromTemplate(template, value)
  local head, tail = string.match(template, '^(.*)%%s(.*)$')
  return head .. value .. tail
end
