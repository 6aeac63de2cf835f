// Lint config: typescript-eslint's recommended rules over the TypeScript sources, functions of at
// most 80 lines, and the harness kept apart from the reference target. Import layers and cycles
// are dependency-cruiser's (.dependency-cruiser.cjs), run by `npm run lint` too.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'coverage/**', 'types/**'] },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } }
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly'
      }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // A function longer than a screen does several things: name them as functions of their own.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }]
    }
  },
  {
    // A test's describe/it callbacks are lists of cases, not functions with one job.
    files: ['test/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' }
  },
  {
    // The harness is a general tool: its core may not know the reference target or its scenarios.
    // They reach it only through the public API, declared in authbench.config.ts.
    files: ['harness/**/*.ts', 'harness/**/*.js'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(target|scenarios)/|(^|/)authbench\\.config(\\.[a-z]+)?$',
              message:
                'harness core must not import the reference target (target/), the auth scenarios (scenarios/) or the repository config; take it from the loaded config through the public API (harness/api.ts)'
            }
          ]
        }
      ]
    }
  }
)
