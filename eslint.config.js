// Lint: typescript-eslint's recommended type-aware rules, plus the few that catch real operator bugs
// (floating promises lose errors; a misused promise in an event handler becomes an unhandled rejection).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '**/*.js', '.cluster/', 'charts/', 'trainer-image/', 'inference-image/', 'terraform/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // The operator's layers (README, "Architecture"): runtime/ is controller machinery that knows
  // nothing of Lathe; the reconcilers reach the API only through k8s/ (the writer and its reads).
  // zod is the API's schema language at build time: only api/schema/ (and the CRD generator and
  // the tests) may load it; the running operator takes the schemas' types only.
  {
    files: ['operator/src/**/*.ts'],
    ignores: ['operator/src/api/schema/**', 'operator/src/api/generate-crds.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'zod', message: 'zod is build-time only: define schemas in operator/src/api/schema/.' }],
          patterns: [
            { group: ['**/api/schema/*', './schema/*'], allowTypeImports: true, message: 'The operator imports only types from api/schema/ (zod must not load at run time).' },
            { group: ['**/cli/*', '**/cli/**'], message: 'The operator never imports kubectl-lathe (cli/).' },
          ],
        },
      ],
    },
  },
  {
    files: ['operator/src/runtime/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../api/*', '../k8s/*', '../trainingrun/*', '../inferenceservice/*', '../aws/*', '../config/*', '../manager.js'], message: 'runtime/ knows nothing of Lathe: it may import only client/ and itself.' }] }],
    },
  },
  {
    files: ['operator/src/trainingrun/**/*.ts', 'operator/src/inferenceservice/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../client/*'], message: 'Reconcilers reach the API through k8s/kube-writer.ts (writes and reads), never client/.' }, { group: ['../manager.js', '../main.js'], message: 'Controllers are wired by the manager, not the other way round.' }] }],
    },
  },
  // kubectl-lathe (cli/) is a client of the operator's API: it may use the API's types and
  // validators, the Kubernetes client, the S3 code and the shared names (labels, records' types),
  // never the controllers' machinery; and the operator never imports the CLI.
  {
    files: ['cli/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/operator/src/runtime/*', '**/operator/src/inferenceservice/*', '**/operator/src/trainingrun/*', '!**/operator/src/trainingrun/records.js', '!**/operator/src/trainingrun/names.js', '**/operator/src/manager.js', '**/operator/src/main.js', '**/operator/src/informers.js', '**/operator/src/controller-context.js', '**/operator/src/config/*', '**/test/**'], message: 'cli/ uses the operator\'s API, client/, aws/ and shared names only, never its controllers or the tests.' }] }],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/api/schema/*'], allowTypeImports: true, message: 'cli/ imports only types from api/schema/ (zod is build-time only).' }] }],
    },
  },
  {
    files: ['hack/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../test/e2e/*', '../test/real/*', '../operator/test/*'], message: 'hack/ uses the shared helpers in test/support/ only.' }] }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'operator/test/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
