import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importLayers } from './eslint/import-layers.js';

/** Which layer may import which (DESIGN.md's layout): connectors → kit → core, never sideways. */
const switchboard = { rules: { 'import-layers': importLayers } };
const layers = [
  { files: ['src/core/**'], options: { home: 2, may: [] } },
  { files: ['src/kit/**'], options: { home: 2, may: ['src/core'] } },
  { files: ['connectors/*/*/**'], options: { home: 3, may: ['src/core', 'src/kit'] } },
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'data/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  { files: ['src/cli/**', 'bench/**', 'test/**', 'bin/**'], rules: { 'no-console': 'off' } },
  ...layers.map(({ files, options }) => ({
    files,
    plugins: { switchboard },
    rules: { 'switchboard/import-layers': ['error', options] },
  })),
);
