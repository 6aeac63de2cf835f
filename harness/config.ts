// Finds, loads and validates authbench.config.{ts,mjs,json} once, and resolves it into what the
// commands run on: targets (paths made absolute), scenarios (files imported), gate settings and
// load defaults. TypeScript config and scenario files load through tsx's loader, so a user's
// project needs no build step. A bad key fails here, naming the key and the file (exit 2).
import { existsSync, readFileSync } from 'node:fs'
import { register as registerHooks } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { defineScenario } from './api.ts'
import type { AuthbenchConfig, GateSettings, LoadDefaults, Scenario, TargetDefinition } from './api.ts'
import { BadOptionError, ConfigError, UnknownScenarioError, isAuthbenchError } from './errors.ts'
import { settingsOverrideSchema } from './gate-settings.ts'

/** Looked for in this order in the working directory. */
export const CONFIG_FILES = Object.freeze(['authbench.config.ts', 'authbench.config.mts', 'authbench.config.mjs', 'authbench.config.js', 'authbench.config.json'])

/** A config made ready to run: every path absolute, every scenario loaded, names unique. */
export interface ResolvedConfig {
  /** The file it came from; null when none was found (built-in defaults). */
  file: string | null
  /** Folder relative paths are resolved against. */
  dir: string
  targets: readonly TargetDefinition[]
  scenarios: readonly Scenario[]
  gate: GateSettings
  load: LoadDefaults
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' })
const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string())

const counterSchema = z.strictObject({
  metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name'),
  label: z.string().optional(),
  match: z.record(z.string(), z.string()).optional()
})

/**
 * A target option's name becomes a long option (`--store`): lower-case words joined by -, and
 * none of the names the harness's own commands use.
 */
const optionName = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lower-case letters and digits, words joined by -')
  .refine((name) => !RESERVED_OPTIONS.has(name), { message: "is one of authbench's own options" })

const targetSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be letters, digits, . _ or - (at most 64)'),
    description: z.string().optional(),
    start: z.strictObject({
      command: z.string().min(1),
      args: z.array(z.string()).optional(),
      cwd: z.string().optional(),
      env: envSchema.optional(),
      portEnv: z.string().optional(),
      protocol: z.enum(['http', 'https']).optional(),
      hostEnv: z.string().optional()
    }),
    install: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    build: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    readiness: z.strictObject({
      path: z.string().startsWith('/', 'must start with /'),
      timeoutMs: z.number().int().positive().max(600_000).optional()
    }),
    calibration: z.strictObject({ path: z.string().startsWith('/', 'must start with /').optional() }).optional(),
    stop: z
      .strictObject({
        signal: z
          .string()
          .regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as SIGTERM')
          .optional(),
        graceMs: z.number().int().min(0).max(600_000).optional()
      })
      .optional(),
    metrics: z
      .strictObject({
        path: z.string().startsWith('/', 'must start with /'),
        counters: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an identifier'), counterSchema).optional()
      })
      .optional(),
    configPath: z.string().startsWith('/', 'must start with /').optional(),
    configFrom: fn.optional(),
    checkEnv: fn.optional(),
    variantsEnv: fn.optional(),
    variants: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be letters, digits, . _ or -'), envSchema).optional(),
    variantAlias: optionName.optional(),
    options: z
      .record(
        optionName,
        z.strictObject({
          env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
          values: z.array(z.string().min(1)).min(1).optional(),
          description: z.string().min(1)
        })
      )
      .optional(),
    defaultVariant: z.string().optional(),
    report: z
      .strictObject({
        scenarios: z.array(z.string()).optional(),
        variantNotes: z.record(z.string(), z.string()).optional(),
        guide: z
          .strictObject({
            reference: z.string(),
            source: z.string(),
            rows: z.record(z.string(), z.strictObject({ currentRps: z.number().positive(), targetRps: z.number().positive() }))
          })
          .optional(),
        explainStep: fn.optional(),
        describeConfig: fn.optional()
      })
      .optional()
  })
  .superRefine((t, ctx) => {
    if (t.defaultVariant !== undefined && t.variants?.[t.defaultVariant] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultVariant'],
        message: `"${t.defaultVariant}" is not one of the target's variants (${Object.keys(t.variants ?? {}).join(', ') || 'none'})`
      })
    }
  })

const scenarioObject = z.custom<Scenario>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Scenario).name === 'string' &&
    typeof (v as Scenario).setup === 'function' &&
    typeof (v as Scenario).checkParams === 'function',
  { message: 'must be a scenario from defineScenario() or a path to a scenario file' }
)

const configSchema = z.strictObject({
  targets: z.array(targetSchema).optional(),
  scenarios: z.array(z.union([z.string().min(1), scenarioObject])).optional(),
  gate: settingsOverrideSchema.optional(),
  load: z
    .strictObject({
      durationMs: z.number().int().positive().optional(),
      warmupMs: z.number().int().min(0).optional(),
      trials: z.number().int().min(1).max(1_000).optional(),
      connections: z.number().int().min(1).max(10_000).optional()
    })
    .optional()
})

/** Long options of authbench's own commands, which a target's options may not take. */
export const RESERVED_OPTIONS: ReadonlySet<string> = new Set([
  'scenario',
  'duration',
  'warmup',
  'warmup-max',
  'trials',
  'connections',
  'pipelining',
  'rate',
  'timeout',
  'url',
  'allow-remote',
  'config',
  'target',
  'variant',
  'target-env',
  'restart-per-trial',
  'out',
  'label',
  'json',
  'scenario-param',
  'error-threshold',
  'max-late-share',
  'max-in-flight',
  'slo',
  'max-pool',
  'calibration',
  'no-calibration',
  'profile',
  'profile-interval',
  'profile-arm',
  'progress',
  'no-progress',
  'compare',
  'baseline',
  'driver',
  'a',
  'b',
  'a-env',
  'b-env',
  'slot',
  'budget',
  'seed',
  'min-rate',
  'start-rate',
  'max-rate',
  'step-duration',
  'precision',
  'repeats',
  'report',
  'pin',
  'no-pin',
  'debug',
  'help',
  'version',
  'runners'
])

/** Keys of the gate settings, also accepted at the top level (the older authbench.config.json form). */
const GATE_KEYS = new Set(Object.keys(settingsOverrideSchema.shape))

/** The generic scenario a config without scenarios gets: GET a path, expect 2xx. */
export const GET_SCENARIO: Scenario = defineScenario({
  name: 'get',
  description: 'GET a path (param path, default /) and expect a 2xx',
  params: { path: 'path and query to GET; default /', status: 'the one expected status; default any 2xx' },
  checkParams: (p) => {
    if (p.path !== undefined && !p.path.startsWith('/'))
      throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `scenario "get" parameter "path": must start with /; got "${p.path}"`)
  },
  setup: ({ params }) => {
    const status = params.status === undefined ? null : Number(params.status)
    const spec = Object.freeze({ method: 'GET' as const, path: params.path ?? '/', expectedStatuses: status === null ? Array.from({ length: 100 }, (_, i) => 200 + i) : [status] })
    return { nextRequest: () => spec, fixedRequest: spec }
  }
})

/** The config file to use: `--config` if given (it must exist), else the first of CONFIG_FILES in cwd. */
export function findConfigFile(cwd: string, explicit?: string): string | null {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit)
    if (!existsSync(file)) throw new ConfigError('AUTHBENCH_ERR_CONFIG_LOAD', `config file ${explicit} does not exist`)
    return file
  }
  for (const name of CONFIG_FILES) {
    const file = path.join(cwd, name)
    if (existsSync(file)) return file
  }
  return null
}

let tsLoader: Promise<void> | null = null

/**
 * A resolve hook that makes a TypeScript file (.ts, .tsx) outside node_modules an ES module even
 * where its package.json says "type": "commonjs" or names no type (what `npm init -y` writes).
 * tsx is registered here through its ESM API only, which has no CommonJS compiler: a .ts file
 * resolved as CommonJS would reach Node's CommonJS loader untranspiled, where ESM syntax
 * (`import … from 'authbench'`, `export default`) makes Node load it back as ESM from inside its
 * own import, a cycle Node refuses (ERR_REQUIRE_CYCLE_MODULE), and type annotations are a syntax
 * error. A config and its scenarios are written with ESM syntax, so ESM is what they mean. .cts
 * files, and packages under node_modules, keep the format their package gives them.
 */
const ESM_TYPESCRIPT_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  if (resolved.format !== 'commonjs' || !resolved.url.startsWith('file:')) return resolved
  const { pathname } = new URL(resolved.url)
  if (!/\\.tsx?$/.test(pathname) || pathname.includes('/node_modules/')) return resolved
  return { ...resolved, format: 'module' }
}
`

let esmTypeScript = false

/** Registered after tsx's hooks, so it runs first and sees the format tsx resolved. */
function ensureEsmTypeScript(): void {
  if (esmTypeScript) return
  esmTypeScript = true
  registerHooks(`data:text/javascript,${encodeURIComponent(ESM_TYPESCRIPT_HOOK)}`)
}

/**
 * TypeScript files load through tsx's loader registered once for the whole process (what the
 * `authbench` bin already does), not through tsImport: tsImport gives the file a module graph of
 * its own, so a user's config would get a second copy of authbench's modules, and its errors
 * would not be the registry's classes.
 */
async function ensureTypeScriptLoader(): Promise<void> {
  // This very file is TypeScript: when it runs, a loader for .ts is already in place.
  if (!import.meta.url.endsWith('.ts')) {
    tsLoader ??= import('tsx/esm/api').then(({ register }) => void register())
    await tsLoader
  }
  ensureEsmTypeScript()
}

/** Imports a .ts/.mts (through tsx), .mjs/.js (plain import) or .json module; returns its default export. */
async function importModule(file: string, what: string): Promise<unknown> {
  try {
    if (file.endsWith('.json')) return JSON.parse(readFileSync(file, 'utf8'))
    const url = pathToFileURL(file).href
    if (/\.[mc]?ts$/.test(file)) await ensureTypeScriptLoader()
    const mod = (await import(url)) as { default?: unknown }
    return mod.default ?? mod
  } catch (error) {
    if (isAuthbenchError(error)) throw error
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_LOAD', `${what} ${file} could not be loaded: ${(error as Error).message}`, { cause: error })
  }
}

function describeIssues(file: string, error: z.ZodError): string {
  const where = (p: readonly PropertyKey[]): string =>
    p.length === 0
      ? '(top level)'
      : p
          .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
          .join('')
          .replace(/^\./, '')
  const problems = error.issues.slice(0, 5).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path.length === 0 ? '' : ` in ${where(issue.path)}`
      return issue.keys.map((k) => `unknown key "${k}"${at}`).join('; ')
    }
    return `${where(issue.path)}: ${issue.message}`
  })
  return `${file}: ${problems.join('; ')}`
}

/** Validates a config object (already imported); `file` names it in messages. */
export async function resolveConfig(raw: unknown, file: string | null, dir: string): Promise<ResolvedConfig> {
  const name = file ?? '(built-in defaults)'
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `${name}: must export an object (defineConfig({...}))`)
  // Gate keys at the top level are the older form of the file: they mean the same as under `gate`.
  const input: Record<string, unknown> = {}
  const legacyGate: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) (GATE_KEYS.has(k) ? legacyGate : input)[k] = v
  if (Object.keys(legacyGate).length > 0) input.gate = { ...legacyGate, ...(input.gate as object | undefined) }
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', describeIssues(name, parsed.error))
  const config = parsed.data as AuthbenchConfig

  const scenarios: Scenario[] = []
  for (const [i, entry] of (config.scenarios ?? [GET_SCENARIO]).entries()) {
    if (typeof entry !== 'string') {
      scenarios.push(entry)
      continue
    }
    const scenarioFile = path.resolve(dir, entry)
    if (!existsSync(scenarioFile)) throw new ConfigError('AUTHBENCH_ERR_CONFIG_LOAD', `${name}: scenarios[${i}]: scenario file ${entry} does not exist`)
    const loaded = await importModule(scenarioFile, 'scenario file')
    for (const s of Array.isArray(loaded) ? loaded : [loaded]) {
      if (!scenarioObject.safeParse(s).success)
        throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `${scenarioFile}: its default export must be a scenario from defineScenario() (or a list of them)`)
      scenarios.push(s as Scenario)
    }
  }
  const seen = new Set<string>()
  for (const s of scenarios) {
    if (seen.has(s.name)) throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `${name}: scenario "${s.name}" is declared twice`)
    seen.add(s.name)
  }
  const targets = (config.targets ?? []).map((t) => Object.freeze({ ...t, start: { ...t.start, cwd: path.resolve(dir, t.start.cwd ?? '.') } }))
  const targetNames = new Set<string>()
  for (const t of targets) {
    if (targetNames.has(t.name)) throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `${name}: target "${t.name}" is declared twice`)
    targetNames.add(t.name)
  }
  return Object.freeze({ file, dir, targets: Object.freeze(targets), scenarios: Object.freeze(scenarios), gate: config.gate ?? {}, load: config.load ?? {} })
}

/**
 * Loads and validates the config (`--config` or found in cwd) once per command; without one, the
 * built-in defaults: no target (use --url), the generic `get` scenario.
 */
export async function loadConfig(options: { cwd?: string; configPath?: string } = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const file = findConfigFile(cwd, options.configPath)
  return resolveConfig(file === null ? {} : await importModule(file, 'config file'), file, file === null ? cwd : path.dirname(file))
}

/** The scenario of that name, or UnknownScenarioError listing the config's. */
export function scenarioByName(config: ResolvedConfig, scenarioName: string): Scenario {
  const s = config.scenarios.find((x) => x.name === scenarioName)
  if (s === undefined)
    throw new UnknownScenarioError(
      scenarioName,
      config.scenarios.map((x) => x.name)
    )
  return s
}

/** The target of that name (default: the first), or a ConfigError saying what exists. */
export function targetByName(config: ResolvedConfig, targetName?: string): TargetDefinition {
  const where = config.file ?? 'the built-in defaults'
  if (config.targets.length === 0)
    throw new ConfigError('AUTHBENCH_ERR_NO_TARGET', `${where} declares no target to start: add one to targets in authbench.config.ts, or pass --url of a running service`)
  if (targetName === undefined) return config.targets[0] as TargetDefinition
  const t = config.targets.find((x) => x.name === targetName)
  if (t === undefined) throw new ConfigError('AUTHBENCH_ERR_NO_TARGET', `--target "${targetName}": ${where} declares ${config.targets.map((x) => x.name).join(', ')}`)
  return t
}

/** A variant's environment, or AUTHBENCH_ERR_UNKNOWN_VARIANT listing the target's variants. */
export function variantEnv(target: TargetDefinition, variant: string, option = '--variant'): Readonly<Record<string, string>> {
  const env = target.variants?.[variant]
  if (env === undefined) {
    const names = Object.keys(target.variants ?? {})
    throw new ConfigError(
      'AUTHBENCH_ERR_UNKNOWN_VARIANT',
      `${option} "${variant}": target "${target.name}" has ${names.length > 0 ? `the variants ${names.join(', ')}` : 'no variants'}`
    )
  }
  return env
}

/**
 * The environment a target's declared options set (`{ store: 'postgres' }` → `{ STORE: 'postgres' }`),
 * each value checked against the option's `values`. An option the target does not declare is
 * refused, naming the ones it does.
 */
export function targetOptionsEnv(target: TargetDefinition, values: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(values)) {
    const option = target.options?.[name]
    if (option === undefined) {
      const names = Object.keys(target.options ?? {}).map((n) => `--${n}`)
      throw new BadOptionError(`--${name} means nothing to target "${target.name}" (${names.length > 0 ? `its options: ${names.join(', ')}` : 'it declares no options'})`)
    }
    if (option.values !== undefined && !option.values.includes(value)) throw new BadOptionError(`--${name} must be one of ${option.values.join(', ')}; got "${value}"`)
    env[option.env] = value
  }
  return env
}
