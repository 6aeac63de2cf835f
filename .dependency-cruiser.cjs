// Import rules for harness/, target/ and scenarios/, checked by `npm run lint:deps` (part of `npm test`).
// The harness is layered so that a lower layer never needs a higher one:
//
//   cli  →  engine / reporters / profile / importers  →  stats  →  base (types, errors, api, config)
//
// A new driver, reporter or statistic then touches its own layer and nothing above it, and
// no file is part of an import cycle. docs/architecture.md says where each kind of code goes.
/** Files of the base layer: public types, the error registry, the public API and config loading. */
const BASE = '^harness/(types|errors|api|journey|scenario-context|config|result-io|k6-contract|gate-settings|exit-code)\\.ts$'
const STATS = '^harness/stats/'
const MIDDLE = '^harness/(engine|reporters|profile|importers)/'
const CLI = '^harness/(cli|bin)/|^harness/index\\.ts$'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle ties its modules into one: none in harness/, target/ or scenarios/.',
      from: { path: '^(harness|target|scenarios)/' },
      to: { circular: true, dependencyTypesNot: ['type-only'] }
    },
    {
      name: 'no-circular-types',
      severity: 'error',
      comment: 'A cycle through type-only imports is still a cycle of meaning: move the shared type down a layer.',
      from: { path: '^(harness|target)/' },
      to: { circular: true }
    },
    {
      name: 'harness-knows-no-target',
      severity: 'error',
      comment: 'The harness is a general tool: it reaches the reference target only through the public API and a config.',
      from: { path: '^harness/' },
      to: { path: '^(target|scenarios|examples)/|^authbench\\.config' }
    },
    {
      name: 'base-imports-only-base',
      severity: 'error',
      comment: 'types, errors, api and config are the bottom layer: they import nothing else of the harness.',
      from: { path: BASE },
      to: { path: '^harness/', pathNot: BASE }
    },
    {
      name: 'stats-imports-only-stats-and-base',
      severity: 'error',
      comment: 'Statistics are pure: no engine, reporter, profiler or CLI (text for people belongs to reporters).',
      from: { path: STATS },
      to: { path: '^harness/', pathNot: `${STATS}|${BASE}` }
    },
    {
      name: 'middle-never-imports-cli',
      severity: 'error',
      comment: 'The engine, reporters, profiler and importers are used by the CLI, never the other way round.',
      from: { path: MIDDLE },
      to: { path: CLI }
    },
    {
      name: 'engine-never-imports-reporters',
      severity: 'error',
      comment: 'The engine emits events and results; reporters render them. The CLI wires the two.',
      from: { path: '^harness/engine/' },
      to: { path: '^harness/reporters/' }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|reports|types|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
