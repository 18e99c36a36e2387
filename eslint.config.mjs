// Lint: typescript-eslint's recommended rules plus Nx's module boundaries, which enforce the
// architecture: services share code only through `contracts` and the small libs, never with each
// other; `web` and `worker` may import `contracts` only. Tags live in each package.json ("nx").
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';

/** The boundary rule; `testSupport` lets web and worker tests use the test-support libs too. */
const moduleBoundaries = (testSupport) => [
  'error',
  {
    allow: [],
    enforceBuildableLibDependency: false,
    depConstraints: [
      { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'scope:contracts'] },
      { sourceTag: 'type:web', onlyDependOnLibsWithTags: testSupport ? ['scope:contracts', 'type:lib'] : ['scope:contracts'] },
      { sourceTag: 'type:worker', onlyDependOnLibsWithTags: testSupport ? ['scope:contracts', 'type:lib'] : ['scope:contracts'] },
      { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['*'] },
    ],
  },
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'web/src/api/schema.d.ts', '.data/**', '.nx/**', 'coverage/**', 'web/e2e/screenshots/**'] },
  ...tseslint.configs.recommended,
  // Error-prevention rules only; formatting is not what the lint gate is for.
  ...vue.configs['flat/essential'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.vue', '**/*.mts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': moduleBoundaries(false),
    },
  },
  {
    // Tests of web and worker may use the test-support libs (real nats-server, Postgres); their
    // shipped code still may not.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(true),
    },
  },
  {
    // Every string schema of the contracts refuses what Postgres cannot store (common/text.ts).
    files: ['contracts/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='z'][callee.property.name='string']",
          message: 'use text() from contracts/src/common/text.ts: it refuses NUL and unpaired surrogates, which Postgres cannot store',
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'bench/**', 'infra/**', '*.config.js', '**/bin/*.js'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
