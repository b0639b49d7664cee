import { defineConfig } from 'vitest/config';

/** One vitest project per package; workspace imports resolve to TypeScript sources via the `source` condition. */
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
