/** What a client learns from a 503 of each kind of call, when the call may have reached Redis. */
export const IN_DOUBT = {
  reserve: 'nothing was held (a hold made after the reply was given up on is released). Retry shortly',
  finish: 'it may or may not have taken effect: retry it (it is idempotent) to learn which',
  admin: 'the change may or may not have been applied: read the SKU before retrying',
  join: 'the ticket may or may not have been made: join again (one ticket per user) to learn which',
  read: 'what it would answer has not reached a replica yet: read it again shortly',
} as const;
