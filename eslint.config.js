// `npm run lint`: ESLint's and typescript-eslint's recommended rules (syntax-only, no type-aware ones).
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // src/grpc/generated/: written by `npm run grpc:generate` (proto-loader-gen-types), never by hand.
  { ignores: ['dist/', 'dist.*/', 'bench/results/', 'node_modules/', 'test-results/', '.data/', 'src/grpc/generated/'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  // The dashboard's modules run in the browser as they are (no build step).
  { files: ['dashboard/**'], languageOptions: { globals: globals.browser } },
  {
    files: ['test/**', 'bench/**'],
    // Answers' JSON bodies are typed `any` on purpose: assertions read them field by field.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
