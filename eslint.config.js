// Lint: TypeScript sources and tests (typescript-eslint's recommended rules), and the scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'src/generated/', 'asm/', 'bench/results/', '.gpu-carry/', 'test-results*/', '.peers/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The browser demo page's script.
    files: ['examples/browser/*.js'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', URLSearchParams: 'readonly' },
    },
  },
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', performance: 'readonly', URL: 'readonly',
        WebAssembly: 'readonly', fetch: 'readonly', atob: 'readonly', SharedArrayBuffer: 'readonly',
        globalThis: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
