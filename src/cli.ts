import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { readEngineInfo } from './engineInfo';
import type { ReconcileReport } from './domain/reconcile';
import { MissingBinaryError } from './servers/binaries';
import { startRuntime } from './process/runtime';

const USAGE = `usage: npm run reconcile -- [--repair] [--json]

Runs one reconciler pass against REDIS_URL / DATABASE_URL (or the embedded services of DATA_DIR)
and prints its report. Exit status: 0 no drift (or drift repaired), 2 drift found and not
repaired, 1 the pass failed or was refused (another pass running).`;

function printReport(report: ReconcileReport, asJson: boolean): void {
  if (asJson) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  console.log(`reconcile ${report.id} (${report.trigger}) finished in ${seconds.toFixed(2)} s`);
  console.log(`  expired holds released: ${report.expiredReleased}`);
  console.log(`  outbox events written:  ${report.eventsWritten}`);
  if (!report.drift.length) console.log('  drift: none');
  for (const item of report.drift) {
    console.log(`  drift: ${item.sku} ${item.field}: redis=${item.redis ?? 'missing'} postgres=${item.postgres} expected=${item.expected}`);
  }
  if (report.drift.length) console.log(report.repaired ? '  repaired: yes (run again to confirm)' : '  repaired: no (run with --repair to rebuild the wrong side)');
  if (report.error) console.log(`  error: ${report.error}`);
}

/** With the embedded Postgres, only the running engine may open it: ask that engine to run the pass. */
async function reconcileThroughEngine(url: string, repair: boolean): Promise<ReconcileReport> {
  const token = process.env.ADMIN_TOKEN;
  if (!token) {
    throw new ConfigError(`The engine at ${url} holds the embedded Postgres of this DATA_DIR. Set ADMIN_TOKEN (the engine's) so this command can ask it to run the pass.`);
  }
  const response = await fetch(`${url}/v1/admin/reconcile`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repair }),
  });
  const body = await response.json();
  if (response.status === 200) return body as ReconcileReport;
  if (body?.error?.details?.report) return body.error.details.report as ReconcileReport;
  throw new Error(`${response.status} ${body?.error?.code}: ${body?.error?.message}`);
}

async function reconcile(repair: boolean): Promise<ReconcileReport> {
  const config = loadConfig();
  const engine = config.databaseUrl ? null : readEngineInfo(config.dataDir);
  if (engine?.embeddedPostgres) return reconcileThroughEngine(engine.url, repair);
  const runtime = await startRuntime(config, { services: 'in-thread' });
  try {
    return await runtime.reconciler.run('cli', { repair });
  } finally {
    await runtime.stop();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { repair: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help || positionals[0] !== 'reconcile') {
    console.log(USAGE);
    return values.help ? 0 : 1;
  }
  const report = await reconcile(values.repair ?? false);
  printReport(report, values.json ?? false);
  if (report.error) return 1;
  return report.drift.length && !report.repaired ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof ConfigError || error instanceof MissingBinaryError ? error.message : error);
    process.exit(1);
  },
);
