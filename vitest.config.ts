import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Engines started by the tests serve no gRPC unless a test asks (test/grpc/api.test.ts): many run
    // at once, and the default port would be taken by the first.
    env: { GRPC_PORT: 'off' },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
