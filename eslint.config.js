// Lint: what review misses. typescript-eslint with type information, for the promise rules above
// all (samples-typescript's shared config: "forgetting to await Activities and Workflow APIs is
// bad") — an activity call that is not awaited is a silent bug in a workflow. Layout is Prettier's
// (`npm run format`); `npm run lint` checks both, and .ci/run runs it before the tests.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'test/fixtures/**',
      '.strongbox/**',
      'backups/**',
      'exports/**',
      'test-artifacts/**',
      'deploy/**',
      'monitoring/**',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
