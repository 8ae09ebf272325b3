import type { Worker } from 'node:worker_threads';
import type { Config } from '../config';
import type { SoldOutBoard } from '../redis/soldOutBoard';
import type { SoldOutReader } from '../redis/soldOutReads';
import type { SoldOutThreadInit, SoldOutThreadMessage } from './messages';
import { closeWorkerThread, startWorkerThread } from './workerThread';

/**
 * The request thread's side of the sold-out reads' thread (soldOutThreadMain.ts): which SKUs to
 * watch goes there as messages, what the reads find comes back on the shared board. A thread that
 * dies posts nothing more: every answer it allowed lapses within the bound, and Redis answers.
 */
export class SoldOutThread implements SoldOutReader {
  private alive = true;

  private constructor(private readonly worker: Worker) {
    worker.on('error', () => (this.alive = false));
    worker.on('exit', () => (this.alive = false));
  }

  static async start(config: Config, redisUrl: string, board: SoldOutBoard): Promise<SoldOutThread> {
    const init: SoldOutThreadInit = { config, redisUrl, board: board.buffer };
    return new SoldOutThread(await startWorkerThread('soldOutThreadMain', init));
  }

  watch(slot: number, sku: string, buckets: number): void {
    this.send({ type: 'watch', slot, sku, buckets });
  }

  unwatch(slot: number): void {
    this.send({ type: 'unwatch', slot });
  }

  async stop(): Promise<void> {
    await closeWorkerThread(this.worker, this.alive, 5_000);
  }

  private send(message: SoldOutThreadMessage): void {
    if (this.alive) this.worker.postMessage(message);
  }
}
