// The background thread's entry when the engine runs from TypeScript sources (tsx: `npm run dev`,
// the tests, the bench). Worker threads do not inherit the TypeScript loader of the thread that
// started them: register tsx here, then load the background thread's code. A build (dist/) starts
// its compiled thread.js directly, with plain node (see BackgroundServices.start).
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
