import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file gets its own process: servers, SQLite files and ports never leak between files.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
