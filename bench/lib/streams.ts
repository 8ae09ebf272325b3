import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { Command, Reply, StreamsReport } from './streamClients';

/** The driver of bench/lib/streamClients.ts: many SSE streams held by a process of their own. */
export class StreamClients {
  private constructor(private readonly child: ChildProcess) {}

  static start(): StreamClients {
    const entry = path.join(path.dirname(new URL(import.meta.url).pathname), 'streamClients.ts');
    return new StreamClients(fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  private ask<K extends Reply['kind']>(command: Command, expected: K): Promise<Extract<Reply, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        this.child.off('message', onMessage);
        if (reply.kind === expected) resolve(reply as Extract<Reply, { kind: K }>);
        else reject(new Error(reply.kind === 'error' ? reply.message : `stream clients answered ${reply.kind}`));
      };
      this.child.on('message', onMessage);
      this.child.send(command);
    });
  }

  /** Opens the streams; resolves with how many are open once each received its first views. */
  async open(command: Omit<Extract<Command, { kind: 'open' }>, 'kind'>): Promise<number> {
    return (await this.ask({ kind: 'open', ...command }, 'opened')).open;
  }

  /** Starts counting events and writing probes. */
  measure(): void {
    this.child.send({ kind: 'measure' } satisfies Command);
  }

  async report(): Promise<StreamsReport> {
    return (await this.ask({ kind: 'report' }, 'report')).report;
  }

  async close(): Promise<void> {
    await this.ask({ kind: 'close' }, 'closed');
  }

  stop(): void {
    this.child.kill();
  }
}
