/**
 * The V8 flags the engine's process runs with, however it is started: `npm start`,
 * `bin/flashsale start` and the Docker image spell them out (test/process/node-flags.test.ts
 * checks they match), the bench and the chaos campaign start it with these. Worker processes
 * (WORKERS > 1) inherit them.
 *
 * A young generation of up to 64 MiB a semi-space (V8's default is 16): with a thousand requests
 * in flight, 16 MiB fills every thousand or so requests, and each scavenge copies, then promotes
 * to the old generation, the objects of every request still open. With 64 MiB the engine spent
 * about a fifth less CPU per refused reserve (docs/benchmarks.md#node-flags).
 */
export const ENGINE_NODE_FLAGS = ['--max-semi-space-size=64'] as const;
