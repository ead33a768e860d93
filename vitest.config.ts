import { defineConfig } from 'vitest/config';

// Two projects: `unit` (everything that runs in seconds; real-kernel tests inside it skip
// with a printed reason where cgroups or root are missing) and `e2e` (a real guest under
// QEMU; skips with a printed reason until scripts/e2e-setup.sh has prepared it).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
