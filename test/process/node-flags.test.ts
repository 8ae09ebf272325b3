/**
 * The engine's V8 flags (src/process/nodeFlags.ts) wherever it is started: the launchers that
 * cannot import them spell them out, and worker processes inherit them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE_NODE_FLAGS } from '../../src/process/nodeFlags';
import { removeEngineDirs, startEngine } from '../support/engineProcess';

afterAll(removeEngineDirs);

const flags = ENGINE_NODE_FLAGS.join(' ');

/** The command line of a process, as its arguments. */
const argumentsOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // The field after the parenthesised name is the state, then the parent's pid.
        return Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("the engine's V8 flags", () => {
  it('`npm start`, `bin/flashsale start` and the Docker image start the engine with them', () => {
    expect(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start).toBe(`exec node ${flags} dist/main.js`);
    expect(readFileSync('bin/flashsale', 'utf8')).toContain(`exec node ${flags} dist/main.js "$@"`);
    const command = readFileSync('Dockerfile', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('CMD '));
    expect(JSON.parse(command!.slice(4))).toEqual(['node', ...ENGINE_NODE_FLAGS, 'dist/main.js']);
  });

  it('each worker process of WORKERS=2 runs with them', async () => {
    const engine = await startEngine({ WORKERS: '2' });
    try {
      const workers = childrenOf(engine.child.pid!).filter((pid) => argumentsOf(pid).some((argument) => argument.endsWith('src/main.ts')));
      expect(workers).toHaveLength(2);
      for (const pid of workers) expect(argumentsOf(pid)).toEqual(expect.arrayContaining([...ENGINE_NODE_FLAGS]));
    } finally {
      engine.child.kill('SIGTERM');
      await engine.exited;
    }
  }, 60_000);
});
