// A thread's entry when the engine runs from TypeScript sources (tsx: `npm run dev`, the tests,
// the bench). Worker threads do not inherit the TypeScript loader of the thread that started them:
// register tsx here, then load the thread's code (workerThread.ts names it). A build (dist/)
// starts its compiled file directly, with plain node.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.sourceFile);
