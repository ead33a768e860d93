// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.scratch/', 'out/', 'dist/', '.cache/', 'coverage/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The machine is pure: effects are provided from src/io, never imported here.
    files: ['src/machines/**/*.ts', 'src/policy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'pino', 'pino-*', 'fs', 'net', 'os', 'child_process'], message: 'src/machines and src/policy stay pure: provide effects from src/io.' }] },
      ],
    },
  },
);
