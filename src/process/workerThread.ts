import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts a thread running `name` (thread.ts, soldOutThreadMain.ts) and waits for it to say 'ready'.
 * A build (dist/) starts the compiled file with plain node; from TypeScript sources (tsx: `npm run
 * dev`, the tests, the chaos campaign) threadEntry.mjs registers tsx first, which threads do not
 * inherit.
 */
export async function startWorkerThread(name: string, workerData: object): Promise<Worker> {
  const built = import.meta.url.endsWith('.js');
  const file = new URL(built ? `./${name}.js` : './threadEntry.mjs', import.meta.url);
  const worker = new Worker(file, { workerData: { ...workerData, sourceFile: `./${name}.ts` } });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (message: 'ready' | { fatal: string }) => {
        if (message === 'ready') resolve();
        else reject(new Error(`the ${name} thread failed to start: ${message.fatal}`));
      });
    });
  } catch (error) {
    // What it opened before failing (a Redis client retrying, say) goes with it.
    await worker.terminate();
    throw error;
  }
  return worker;
}

/**
 * Ends a thread started by startWorkerThread: a live one is first told 'close' and given up to
 * `graceMs` to let its connections go (it answers 'closed'); a dead one has nothing to let go.
 */
export async function closeWorkerThread(worker: Worker, alive: boolean, graceMs: number): Promise<void> {
  if (alive) {
    // Answers still on their way (a query, a pass) may come first.
    const closed = new Promise<void>((resolve) => {
      const untilClosed = (message: unknown) => {
        if (message !== 'closed') return;
        worker.off('message', untilClosed);
        resolve();
      };
      worker.on('message', untilClosed);
    });
    worker.postMessage('close');
    await Promise.race([closed, sleep(graceMs)]);
  }
  await worker.terminate();
}
