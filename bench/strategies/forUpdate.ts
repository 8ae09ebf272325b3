import postgres from 'postgres';
import type { ReserveBackend } from './backend';

/** Postgres row lock: SELECT … FOR UPDATE inside a transaction, with a lock timeout. */
export function forUpdateBackend(url: string): ReserveBackend {
  const sql = postgres(url, { max: 20, onnotice: () => {} });
  return {
    async setup(skus, total) {
      await sql`drop table if exists bench_stock, bench_holds`;
      await sql`create table bench_stock (sku text primary key, available int not null, version int not null default 0)`;
      await sql`create table bench_holds (id bigserial primary key, sku text not null, user_id text not null, qty int not null)`;
      await sql`insert into bench_stock ${sql(skus.map((sku) => ({ sku, available: total })))}`;
    },
    async reserve(sku, userId, qty) {
      return sql.begin(async (tx) => {
        await tx`set local lock_timeout = '2s'`;
        const [row] = await tx`select available from bench_stock where sku = ${sku} for update`;
        if (!row || row.available < qty) return false;
        await tx`update bench_stock set available = available - ${qty} where sku = ${sku}`;
        await tx`insert into bench_holds (sku, user_id, qty) values (${sku}, ${userId}, ${qty})`;
        return true;
      });
    },
    async tally() {
      const [held] = await sql`select coalesce(sum(qty), 0)::bigint as n from bench_holds`;
      const [left] = await sql`select coalesce(sum(available), 0)::bigint as n from bench_stock`;
      return { held: Number(held.n), available: Number(left.n) };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
