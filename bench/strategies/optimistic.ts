import postgres from 'postgres';
import type { ReserveBackend } from './backend';
import { forUpdateBackend } from './forUpdate';

const MAX_ATTEMPTS = 10;

/** Postgres optimistic concurrency: read the row's version, update only if it is unchanged, retry (bounded). */
export function optimisticBackend(url: string): ReserveBackend {
  const sql = postgres(url, { max: 20, onnotice: () => {} });
  const shared = forUpdateBackend(url);
  return {
    setup: shared.setup,
    tally: shared.tally,
    async reserve(sku, userId, qty) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const [row] = await sql`select available, version from bench_stock where sku = ${sku}`;
        if (!row || row.available < qty) return false;
        const won = await sql.begin(async (tx) => {
          const updated = await tx`update bench_stock set available = available - ${qty}, version = version + 1
                                   where sku = ${sku} and version = ${row.version}`;
          if (updated.count !== 1) return false;
          await tx`insert into bench_holds (sku, user_id, qty) values (${sku}, ${userId}, ${qty})`;
          return true;
        });
        if (won) return true;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
      }
      throw new Error('gave up after too many version conflicts');
    },
    async close() {
      await sql.end({ timeout: 5 });
      await shared.close();
    },
  };
}
