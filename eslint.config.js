// Lint config: typescript-eslint's recommended rules over the TypeScript sources.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error'
    }
  },
  {
    // The harness is a general tool: its core may not know the reference target or its scenarios.
    // They reach it only through the public API, declared in authbench.config.ts.
    files: ['harness/**/*.ts', 'harness/**/*.js'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          regex: '(^|/)(target|scenarios)/|(^|/)authbench\\.config(\\.[a-z]+)?$',
          message: 'harness core must not import the reference target (target/), the auth scenarios (scenarios/) or the repository config; take it from the loaded config through the public API (harness/api.ts)'
        }]
      }]
    }
  }
)
