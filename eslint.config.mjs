// Type-aware linting: typescript-eslint's strict type-checked rules, configured where a rule does
// not pay in a tfjs/NestJS codebase, and eslint-config-prettier so that formatting is Prettier's.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Numbers in messages and tensor shapes (`[${x.shape}]`) print as meant; other types need String() or a format.
const templateExpressions = {
  allowNumber: true,
  allowArray: true,
  allowAny: false,
  allowBoolean: false,
  allowNullish: false,
  allowRegExp: false,
  allowNever: false,
};

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'docs/', '**/*.js', '**/*.mjs']),
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', templateExpressions],
      // Nest modules are empty classes carrying a decorator; an undecorated empty class is still an error.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      // `() => tf.dispose(...)` and `forEach((v) => expect(v)...)` return void on purpose; a void assigned or passed on is still caught.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_`-prefixed names are deliberately unused (a field destructured away, a required callback parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['apps/api/src/**/*.mapper.ts'],
    rules: {
      // The *Response classes only carry @ApiProperty metadata for OpenAPI: never constructed, no methods, sent as JSON.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.fixture.ts', 'test/**/*.ts'],
    rules: {
      // A test states what it just set up; a wrong `!` fails at the line that would have failed anyway.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `let x: T` set in beforeAll is unset in afterAll when beforeAll failed: the `?.` there is right where the type is not.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // expect(obj.method).toHaveBeenCalled() reads a method without calling it.
      '@typescript-eslint/unbound-method': 'off',
      // jest's asymmetric matchers (expect.any, expect.closeTo, ...) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/integration/**/*.spec.ts', 'test/e2e/**/*.spec.ts', 'test/chaos/**/*.spec.ts'],
    rules: {
      // HTTP response bodies are untyped JSON (supertest's `body: any`); the assertions on them are their type check.
      '@typescript-eslint/restrict-template-expressions': ['error', { ...templateExpressions, allowAny: true }],
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  prettier,
  {
    // Prettier wraps code at its printWidth but never a comment or a string: this holds those to it too.
    // (Core max-len is frozen; @stylistic/eslint-plugin's is its successor, not installed here.)
    rules: { 'max-len': ['error', { code: 160, ignoreUrls: true }] },
  },
);
