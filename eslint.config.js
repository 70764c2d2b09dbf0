'use strict';

const js = require('@eslint/js');
const globals = require('globals');
const prettier = require('eslint-config-prettier');

module.exports = [
  {
    ignores: [
      'binding.js',
      'binding.d.ts',
      'target/',
      'npm/',
      'node_modules/',
      '**/*.d.ts',
      '**/*.d.mts'
    ]
  },
  js.configs.recommended,
  prettier,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.node }
    },
    rules: {
      // Terminal escapes are matched on purpose (the CLI's output).
      'no-control-regex': 'off',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      strict: ['error', 'global']
    }
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' }
  },
  {
    files: ['__test__/fixtures/browser/**', 'bench/browser/**'],
    languageOptions: { globals: { ...globals.browser } }
  }
];
