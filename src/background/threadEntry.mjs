// Worker threads do not inherit the TypeScript loader of the thread that started them:
// register tsx here, then load the background thread's code.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
