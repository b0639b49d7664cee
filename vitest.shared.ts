import { defineProject } from 'vitest/config';

/** Shared per-package vitest project settings: resolve workspace packages to their `src/` (no build needed). */
export function packageProject(name: string, extra: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { conditions: ['source'] },
    ssr: { resolve: { conditions: ['source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: extra.testTimeout ?? 60_000,
      hookTimeout: 120_000,
    },
  });
}
