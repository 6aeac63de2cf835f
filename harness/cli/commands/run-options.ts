// `authbench run` options: raw command-line strings in, validated and frozen settings out. Every
// bad value is a BadOptionError naming the option, which the CLI turns into exit code 2.
import { DEFAULT_LOAD } from '../../api.ts'
import type { Scenario, ScenarioParams, TargetDefinition } from '../../api.ts'
import { scenarioByName, targetByName, targetOptionsEnv, variantEnv } from '../../config.ts'
import type { ResolvedConfig } from '../../config.ts'
import { BadOptionError } from '../../errors.ts'
import type { LoadSettings, Stage } from '../../types.ts'
import { parseSlos, type Slo } from '../../stats/slo.ts'
import { DEFAULT_COMPARE_SETTINGS } from '../../stats/verdict.ts'

/** What commander hands over: strings, booleans and repeated lists, unvalidated. */
export interface RawRunOptions {
  /** Service-level objectives (harness/stats/slo.ts), e.g. 'p99<20ms'. */
  slo?: string[]
  /** Open model: bound on requests in flight. */
  maxInFlight?: string
  /** Journeys: virtual users (closed model); another name for --connections. */
  vus?: string
  /** Journeys, open model: most iterations running at once; another name for --max-in-flight. */
  maxVus?: string
  /** Ramping: `30s:10,1m:50` (each stage's duration and the level it reaches). */
  stages?: string
  scenario?: string[]
  duration?: string
  warmup?: string
  /** The longest the warm-up may run until the target is steady (harness/engine/warmup.ts); equal to --warmup for a fixed warm-up. */
  warmupMax?: string
  trials?: string
  connections?: string
  pipelining?: string
  rate?: string
  timeout?: string
  url?: string
  allowRemote?: boolean
  /** Config file (default: authbench.config.* in the working directory). */
  config?: string
  /** Which of the config's targets (default: the first). */
  target?: string
  /** A named environment set of the target (or its `variantAlias`, which the CLI hands over as this). */
  variant?: string
  targetEnv?: string[]
  /** Values of the options the target declares (`--store postgres` → { store: 'postgres' }). */
  targetOptions?: Readonly<Record<string, string>>
  restartPerTrial?: boolean
  out?: string
  label?: string
  json?: boolean
  scenarioParam?: string[]
  errorThreshold?: string
  maxLateShare?: string
  maxPool?: string
  calibration?: boolean
  progress?: boolean
  /** Compare with a baseline straight after the run (`run --compare`). */
  compare?: boolean
  baseline?: string
}

/** What `ab` and `phases` share of commander's options: what to run, for how long, and where to. */
export interface RawInterleavedOptions {
  scenario?: string[]
  /** Pairs (ab) or rounds (phases) per scenario. */
  trials?: string
  duration?: string
  warmup?: string
  connections?: string
  vus?: string
  maxVus?: string
  stages?: string
  scenarioParam?: string[]
  errorThreshold?: string
  maxPool?: string
  out?: string
  label?: string
  seed?: string
  /** Config file (default: authbench.config.* in the working directory). */
  config?: string
  /** Which of the config's targets (default: the first). */
  target?: string
  calibration?: boolean
  progress?: boolean
}

export interface RunOptions {
  /** Objectives checked on each scenario's merged figures; a failed one makes the run exit 1. */
  slos: readonly Slo[]
  scenarios: readonly { scenario: Scenario; params: ScenarioParams; load: LoadSettings }[]
  trials: number
  url: string | null
  allowRemote: boolean
  /** The target to start; null with --url. */
  target: TargetDefinition | null
  /** The chosen variant's name (--variant, else the target's default), or null. */
  variant: string | null
  /** The target's declared options as given, by name. */
  targetOptions: Readonly<Record<string, string>>
  /** What the target is started with on top of its own env: the variant's, its options', --target-env. */
  targetEnv: Readonly<Record<string, string>>
  restartPerTrial: boolean
  outDir: string
  label: string
  json: boolean
  errorRateThreshold: number
  lateShareThreshold: number
  maxPoolSize: number
  calibration: boolean
  progress: boolean
}

export const RUN_DEFAULTS = Object.freeze({
  // As many as `compare` needs by default: a run with the defaults must be comparable (to the
  // committed baseline, as docs/commands.md shows) without another option.
  trials: DEFAULT_COMPARE_SETTINGS.minTrials,
  durationMs: DEFAULT_LOAD.closed.durationMs,
  warmupMs: DEFAULT_LOAD.warmupMs,
  timeoutMs: 10_000,
  outDir: 'reports',
  errorRateThreshold: 0.01,
  lateShareThreshold: 0.05,
  // Consumable items seeded per trial at most (scenarios that consume): one of the reference's at
  // ~23k req/s for ab's 4 s needs ~140k with the refill margin.
  maxPoolSize: 200_000
})

/** 500ms, 5s, 1m, 1.5s; a bare number is seconds (as autocannon and k6 read it). */
export function parseDurationMs(option: string, raw: string, allowZero: boolean): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim())
  if (m === null) throw new BadOptionError(`${option} "${raw}" is not a duration (use e.g. 500ms, 5s, 1m)`)
  const unit = m[2] ?? 's'
  const ms = Math.round(Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000))
  if (ms < 0 || (!allowZero && ms === 0)) throw new BadOptionError(`${option} must be greater than 0; got "${raw}"`)
  if (ms > 24 * 3_600_000) throw new BadOptionError(`${option} "${raw}" is longer than a day`)
  return ms
}

export function parseIntOption(option: string, raw: string, min: number, max: number): number {
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new BadOptionError(`${option} must be an integer from ${min} to ${max}; got "${raw}"`)
  return v
}

export function parseShareOption(option: string, raw: string): number {
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new BadOptionError(`${option} must be a share from 0 to 1; got "${raw}"`)
  return v
}

function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
}

export function parseKeyValues(option: string, values: readonly string[] | undefined, keyPattern: RegExp): Map<string, string> {
  const out = new Map<string, string>()
  for (const item of values ?? []) {
    const eq = item.indexOf('=')
    const key = eq > 0 ? item.slice(0, eq).trim() : ''
    if (eq <= 0 || !keyPattern.test(key)) throw new BadOptionError(`${option} "${item}" is not KEY=VALUE`)
    out.set(key, item.slice(eq + 1))
  }
  return out
}

/** NAME=value environment assignments (--target-env, --a-env, --b-env); names are upper-case. */
export function parseEnvAssignments(option: string, values: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries(parseKeyValues(option, values, /^[A-Z][A-Z0-9_]*$/))
}

/**
 * Values a command already holds as numbers (its own defaults, or options it parsed itself), so
 * they are never turned back into strings to be parsed again. Each is used where the raw options
 * give none, ahead of the config's load defaults.
 */
export interface TypedRunValues {
  durationMs?: number
  warmupMs?: number
  trials?: number
  /** Sets the open model, as --rate does. */
  rateRps?: number
}

type ConfigPart = Pick<ResolvedConfig, 'scenarios' | 'targets' | 'load' | 'file'>

/**
 * `--stages 30s:10,1m:50,20s:0`: each stage's duration and the level it reaches (VUs in the closed
 * model, iterations or requests per second in the open one), as k6's stages.
 */
export function parseStages(raw: string): Stage[] {
  const stages = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const m = /^([^:]+):\s*(\d+(?:\.\d+)?)$/.exec(part)
      if (m === null) throw new BadOptionError(`--stages "${raw}": "${part}" is not <duration>:<target> (e.g. 30s:50)`)
      return { durationMs: parseDurationMs(`--stages stage "${part}"`, m[1] as string, false), target: Number(m[2]) }
    })
  if (stages.length === 0) throw new BadOptionError(`--stages "${raw}" has no stage (e.g. 30s:10,1m:50)`)
  return stages
}

/** --vus and --connections, --max-vus and --max-in-flight: one name each, never both. */
function takeAliases(raw: RawRunOptions): RawRunOptions {
  if (raw.vus !== undefined && raw.connections !== undefined) throw new BadOptionError('--vus and --connections are the same setting: give one')
  if (raw.maxVus !== undefined && raw.maxInFlight !== undefined) throw new BadOptionError('--max-vus and --max-in-flight are the same setting: give one')
  const out = { ...raw }
  if (raw.vus !== undefined) out.connections = raw.vus
  if (raw.maxVus !== undefined) out.maxInFlight = raw.maxVus
  return out
}

/** The load every chosen scenario runs under, before its own connections default. */
function parseLoad(raw: RawRunOptions, config: ConfigPart, typed: TypedRunValues): Omit<LoadSettings, 'connections'> & { trials: number } {
  const stages = raw.stages === undefined ? null : parseStages(raw.stages)
  if (stages !== null && raw.duration !== undefined) throw new BadOptionError('--stages sets the measured time (the sum of the stages): drop --duration')
  const durationMs =
    stages !== null
      ? stages.reduce((sum, s) => sum + s.durationMs, 0)
      : raw.duration === undefined
        ? (typed.durationMs ?? config.load.durationMs ?? RUN_DEFAULTS.durationMs)
        : parseDurationMs('--duration', raw.duration, false)
  const warmupMs = raw.warmup === undefined ? (typed.warmupMs ?? config.load.warmupMs ?? RUN_DEFAULTS.warmupMs) : parseDurationMs('--warmup', raw.warmup, true)
  const warmupMaxMs = raw.warmupMax === undefined ? null : parseDurationMs('--warmup-max', raw.warmupMax, true)
  if (warmupMaxMs !== null && warmupMaxMs < warmupMs)
    throw new BadOptionError(`--warmup-max ${raw.warmupMax} is shorter than the warm-up (${warmupMs} ms); give at least --warmup, or the same for a fixed warm-up`)
  const timeoutMs = raw.timeout === undefined ? RUN_DEFAULTS.timeoutMs : parseDurationMs('--timeout', raw.timeout, false)
  // A comparison needs enough trials for its statistics (the gate's minTrials): 5 by default then.
  const trials = raw.trials === undefined ? (typed.trials ?? (raw.compare ? 5 : (config.load.trials ?? RUN_DEFAULTS.trials))) : parseIntOption('--trials', raw.trials, 1, 1_000)
  const rateRps = raw.rate === undefined ? (typed.rateRps ?? null) : parseIntOption('--rate', raw.rate, 1, 10_000_000)
  const model = rateRps === null ? 'closed' : 'open'
  const pipelining = raw.pipelining === undefined ? 1 : parseIntOption('--pipelining', raw.pipelining, 1, 1_024)
  if (model === 'open' && pipelining !== 1) throw new BadOptionError('--pipelining applies to the closed model only; drop it or drop --rate')
  if (model === 'closed' && raw.maxInFlight !== undefined)
    throw new BadOptionError('--max-in-flight applies to the open model only (with --rate); the closed model has --connections')
  const maxInFlight = raw.maxInFlight === undefined ? null : parseIntOption('--max-in-flight', raw.maxInFlight, 1, 100_000)
  return {
    model,
    durationMs,
    warmupMs,
    ...(warmupMaxMs === null ? {} : { warmupMaxMs }),
    pipelining,
    rateRps,
    maxRequests: null,
    timeoutMs,
    ...(maxInFlight === null ? {} : { maxInFlight }),
    ...(stages === null ? {} : { stages }),
    trials
  }
}

/** Each chosen scenario with its checked parameters ("scenario.name=value") and its load. */
function planScenarios(raw: RawRunOptions, config: ConfigPart, chosen: readonly string[], load: ReturnType<typeof parseLoad>): RunOptions['scenarios'] {
  const params = new Map<string, Record<string, string>>()
  for (const [key, value] of parseKeyValues('--scenario-param', raw.scenarioParam, /^[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z][A-Za-z0-9_]*$/)) {
    const [scenarioName, param] = key.split('.') as [string, string]
    if (!chosen.includes(scenarioName)) throw new BadOptionError(`--scenario-param "${key}": scenario "${scenarioName}" is not being run (running: ${chosen.join(', ')})`)
    params.set(scenarioName, { ...(params.get(scenarioName) ?? {}), [param]: value })
  }
  const { trials: _trials, ...common } = load
  return chosen.map((name) => {
    const scenario = scenarioByName(config as ResolvedConfig, name)
    const p = Object.freeze(params.get(scenario.name) ?? {})
    scenario.checkParams(p)
    const d = scenario.defaultLoad
    const connections =
      raw.connections === undefined
        ? (config.load.connections ?? (load.model === 'open' ? d.open.connections : d.closed.connections))
        : parseIntOption('--connections', raw.connections, 1, 10_000)
    return Object.freeze({ scenario, params: p, load: Object.freeze({ ...common, connections }) })
  })
}

/** With --url the target runs already: settings that would start it differently are refused. */
function refuseTargetSettingsWithUrl(raw: RawRunOptions): void {
  const clash = (['variant', 'target', 'restartPerTrial'] as const).filter((k) => raw[k] !== undefined && raw[k] !== false)
  const options = Object.keys(raw.targetOptions ?? {})
  if (clash.length === 0 && options.length === 0 && (raw.targetEnv ?? []).length === 0) return
  const flags = [
    ...clash.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`),
    ...options.map((name) => `--${name}`),
    ...((raw.targetEnv ?? []).length > 0 ? ['--target-env'] : [])
  ]
  throw new BadOptionError(`${flags.join(', ')} cannot be used with --url: that target is already running with its own settings`)
}

/** The target to start, its variant, and the environment it starts with (checked by the target). */
function resolveTarget(raw: RawRunOptions, config: ConfigPart): Pick<RunOptions, 'target' | 'variant' | 'targetOptions' | 'targetEnv'> {
  const target = targetByName(config as ResolvedConfig, raw.target)
  const variant = raw.variant ?? target.defaultVariant ?? null
  const env: Record<string, string> = variant !== null ? { ...variantEnv(target, variant) } : {}
  const targetOptions = Object.freeze({ ...raw.targetOptions })
  Object.assign(env, targetOptionsEnv(target, targetOptions), parseEnvAssignments('--target-env', raw.targetEnv))
  if (target.checkEnv !== undefined) {
    try {
      target.checkEnv({ ...target.start.env, ...env })
    } catch (error) {
      throw new BadOptionError(`target "${target.name}" would refuse this environment: ${(error as Error).message}`)
    }
  }
  return { target, variant, targetOptions, targetEnv: Object.freeze(env) }
}

/**
 * Parses once into typed, frozen settings; `config` supplies the scenarios, the target and load
 * defaults, `typed` what the calling command has already as numbers.
 */
export function parseRunOptions(given: RawRunOptions, config: ConfigPart, typed: TypedRunValues = {}): RunOptions {
  const raw = takeAliases(given)
  const names = splitList(raw.scenario)
  const all = config.scenarios.map((s) => s.name)
  const chosen = names.length === 0 ? [...all] : [...new Set(names)]
  for (const name of chosen) scenarioByName(config as ResolvedConfig, name)
  const load = parseLoad(raw, config, typed)
  const slos = parseSlos(raw.slo)
  const plans = planScenarios(raw, config, chosen, load)
  const url = raw.url ?? null
  if (url !== null) refuseTargetSettingsWithUrl(raw)
  const target = url === null ? resolveTarget(raw, config) : { target: null, variant: null, targetOptions: Object.freeze({}), targetEnv: Object.freeze({}) }
  const label = raw.label ?? (chosen.length === all.length ? 'all' : chosen.join('+'))
  if (!/^[A-Za-z0-9._+-]{1,64}$/.test(label)) throw new BadOptionError(`--label "${label}" may only use letters, digits and . _ + - (at most 64)`)

  return Object.freeze({
    slos: Object.freeze(slos),
    scenarios: Object.freeze(plans),
    trials: load.trials,
    url,
    allowRemote: raw.allowRemote === true,
    ...target,
    restartPerTrial: raw.restartPerTrial === true,
    outDir: raw.out ?? RUN_DEFAULTS.outDir,
    label,
    json: raw.json === true,
    errorRateThreshold: raw.errorThreshold === undefined ? RUN_DEFAULTS.errorRateThreshold : parseShareOption('--error-threshold', raw.errorThreshold),
    lateShareThreshold: raw.maxLateShare === undefined ? RUN_DEFAULTS.lateShareThreshold : parseShareOption('--max-late-share', raw.maxLateShare),
    maxPoolSize: raw.maxPool === undefined ? RUN_DEFAULTS.maxPoolSize : parseIntOption('--max-pool', raw.maxPool, 100, 10_000_000),
    calibration: raw.calibration !== false,
    progress: raw.progress !== false && raw.json !== true
  })
}
