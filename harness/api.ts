// The public API of authbench: what a user's authbench.config.ts and scenario files are written
// against (`import { defineConfig, defineScenario, defineTarget } from 'authbench'`). The harness
// core runs on these types and nothing else; the auth reference target and its six scenarios are
// declared through them too (authbench.config.ts at the repository root), so they get no door a
// user's service does not have.
import { ConfigError, ScenarioParamError } from './errors.ts'
import type { JourneyDefinition, JourneyRuntime } from './journey.ts'
import { HTTP_METHODS } from './scenario-context.ts'
import type { HttpMethod, ScenarioParams, SetupContext } from './scenario-context.ts'

export { HTTP_METHODS } from './scenario-context.ts'
export type { HttpMethod, ScenarioParams, SetupContext } from './scenario-context.ts'

/** One HTTP request a scenario asks a driver to send. */
export interface RequestSpec {
  method: HttpMethod
  /** Path and query, e.g. '/items/42?fields=name'. */
  path: string
  headers?: Record<string, string>
  body?: string
  /** Statuses the scenario expects; any other status counts as an error. */
  expectedStatuses: readonly number[]
  /** Which kind of request within a mixed scenario ('validate', 'token', ...). */
  tag?: string
  /**
   * Called with every answer to this request, measured or not, by the open driver (the closed
   * driver never sees bodies). For checks that need what the target said, such as the fault
   * suite collecting the ids of tokens that were answered 200.
   */
  onResponse?: (status: number, headers: Record<string, string | string[] | undefined>, body: Buffer) => void
}

const SPEC_KEYS = new Set(['method', 'path', 'headers', 'body', 'expectedStatuses', 'tag', 'onResponse'])

/**
 * Why `spec` is not a request a driver can send, or null when it is. A typo in a key
 * (`expectedStatus`) is named here, before any load, instead of failing inside a driver.
 */
export function requestSpecProblem(spec: unknown): string | null {
  if (typeof spec !== 'object' || spec === null) return `must be a request object ({ method, path, expectedStatuses }); got ${spec === null ? 'null' : typeof spec}`
  const r = spec as Record<string, unknown>
  const unknown = Object.keys(r).filter((k) => !SPEC_KEYS.has(k))
  if (unknown.length > 0) return `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (a request has ${[...SPEC_KEYS].join(', ')})`
  if (!(HTTP_METHODS as readonly unknown[]).includes(r.method)) return `method ${JSON.stringify(r.method)} is not one of ${HTTP_METHODS.join(', ')}`
  if (typeof r.path !== 'string' || !r.path.startsWith('/')) return `path ${JSON.stringify(r.path)} must be a string starting with /`
  const statuses = r.expectedStatuses
  if (!Array.isArray(statuses) || statuses.length === 0 || !statuses.every((x) => Number.isInteger(x) && x >= 100 && x <= 599)) {
    return `expectedStatuses must be a non-empty list of HTTP statuses (e.g. [200]); got ${JSON.stringify(statuses)}`
  }
  if (r.body !== undefined && typeof r.body !== 'string') return 'body must be a string (JSON.stringify an object first)'
  if (r.method === 'HEAD' && r.body !== undefined) return 'a HEAD request has no body'
  return null
}

/** What a scenario instance reports about its seeded data, for the trial's `setup` record. */
export interface InstanceStats {
  /** Items seeded through the target's API for this instance (setup and refills). */
  seeded: number
  /** Requests sent after a consumable pool ran dry (they reuse an item and are not the success path). */
  exhaustedRequests: number
  /** Time spent seeding, in ms. */
  setupMs: number
}

/** One trial's live scenario: owns its seeded data and hands the driver one request at a time. */
export interface ScenarioInstance {
  /** Synchronous and cheap: the driver calls it once per request on its hot path. */
  nextRequest(): RequestSpec
  /**
   * Set when every request is this one frozen spec: the closed driver then hands autocannon a
   * static request it builds once, instead of calling nextRequest per send.
   */
  fixedRequest?: RequestSpec
  /** Make sure `expectedRequests` more requests can be served (tops up consumables). */
  refill(expectedRequests: number, signal?: AbortSignal): Promise<void>
  /** Start counting exhaustion afresh: warm-up exhaustion must not invalidate the measured window. */
  resetStats(): void
  stats(): InstanceStats
  /**
   * Requests that can still be sent before a consumable pool runs dry; null when nothing is
   * consumed. The engine caps a closed-model trial's request count with it.
   */
  capacity(): number | null
  /** Set for a journey scenario: its VUs run this instead of nextRequest (the journey driver). */
  journey?: JourneyRuntime
}

/** A scenario's load when the command line does not say otherwise. */
export interface DefaultLoad {
  /** Closed model: connections × pipelining requests in flight, for durationMs. */
  closed: { connections: number; pipelining: number; durationMs: number }
  /** Open model: a constant arrival rate over a pool of connections. */
  open: { rateRps: number; connections: number; durationMs: number }
  /** Unrecorded warm-up before each trial. */
  warmupMs: number
}

/** The harness's defaults: sized so a run over a handful of scenarios takes a minute or two. */
export const DEFAULT_LOAD: Readonly<DefaultLoad> = Object.freeze({
  closed: Object.freeze({ connections: 32, pipelining: 1, durationMs: 4_000 }),
  open: Object.freeze({ rateRps: 2_000, connections: 64, durationMs: 5_000 }),
  warmupMs: 1_000
})

/** A scenario as the engine runs it: every field filled in (what `defineScenario` returns). */
export interface Scenario {
  name: string
  description: string
  /** True when every request uses up a seeded item, so the pool must be sized to the run. */
  consumes: boolean
  defaultLoad: DefaultLoad
  /** Parameter names this scenario accepts, with what they mean. */
  params: Readonly<Record<string, string>>
  /** Throws a ScenarioParamError naming the bad parameter; called before any traffic. */
  checkParams(params: ScenarioParams): void
  setup(ctx: SetupContext): Promise<ScenarioInstance>
  /** Absolute path of the scenario's k6 script, when it has one. */
  k6Script?: string
  /** True for a journey: its instance has `journey` and the journey driver runs it. */
  journey?: boolean
}

/** What `setup` may return: `nextRequest` at least; the rest defaults to "nothing consumed". */
export type ScenarioInstanceInit = Pick<ScenarioInstance, 'nextRequest'> &
  Partial<Omit<ScenarioInstance, 'nextRequest'>> & {
    /**
     * How many items setup seeded, for the trial's `setup.seeded`, when the scenario does not keep
     * its own `stats()`: the harness cannot see what a setup's own requests created.
     */
    seeded?: number
  }

/**
 * A scenario as a user writes it. Give exactly one of `request` (one fixed request), `setup` (a
 * generator of independent requests) or `journey` (VU iterations of dependent steps).
 */
export interface ScenarioDefinition<State = Record<string, unknown>, Data = unknown> {
  /** Unique name: `--scenario <name>`, and the key of its figures in results. Letters, digits, - and _. */
  name: string
  description?: string
  /** True when every request uses up an item seeded in setup (default false). */
  consumes?: boolean
  /** Load for this scenario unless the command line or the config says otherwise. */
  defaultLoad?: Partial<DefaultLoad>
  /** Accepted parameters, name → what it means. Any other `--scenario-param` is refused. */
  params?: Readonly<Record<string, string>>
  /** Extra validation of parameter values; throw a ScenarioParamError naming the parameter. */
  checkParams?: (params: ScenarioParams) => void
  /** Every request is this one (health checks, a static GET). */
  request?: RequestSpec
  /** Seed through the target's HTTP API and return the per-request generator. */
  setup?: (ctx: SetupContext) => Promise<ScenarioInstanceInit> | ScenarioInstanceInit
  /** Virtual users running iterations of steps (harness/journey.ts). */
  journey?: JourneyDefinition<State, Data>
  /** Absolute path of a k6 script for the same workload (`run --driver k6`); see harness/k6-contract.ts. */
  k6Script?: string
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

function checkKnownParams(scenario: string, params: ScenarioParams, known: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(params)) {
    if (!(key in known)) {
      const names = Object.keys(known)
      throw new ScenarioParamError(scenario, key, `unknown parameter (known: ${names.length > 0 ? names.join(', ') : 'none'})`)
    }
  }
}

/** `setupMs`: how long the scenario's setup took, as the harness timed it (a scenario's own stats() wins). */
function completeInstance(init: ScenarioInstanceInit, setupMs = 0): ScenarioInstance {
  const stats = { seeded: init.seeded ?? 0, exhaustedRequests: 0, setupMs }
  return {
    nextRequest: init.nextRequest,
    ...(init.fixedRequest === undefined ? {} : { fixedRequest: init.fixedRequest }),
    refill: init.refill ?? (async () => undefined),
    resetStats: init.resetStats ?? (() => undefined),
    stats: init.stats ?? (() => stats),
    capacity: init.capacity ?? (() => null)
  }
}

/**
 * Declares a scenario. Unknown parameters are refused before any traffic; a scenario with one
 * fixed `request` needs no setup. The result is frozen and is what the engine runs.
 */
export function defineScenario<State = Record<string, unknown>, Data = unknown>(def: ScenarioDefinition<State, Data>): Scenario {
  if (typeof def.name !== 'string' || !NAME.test(def.name))
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `defineScenario: name ${JSON.stringify(def.name)} must be letters, digits, - or _ (at most 64), starting with a letter`)
  if ([def.request, def.setup, def.journey].filter((x) => x !== undefined).length !== 1)
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `defineScenario "${def.name}": give exactly one of request, setup or journey`)
  if (def.journey !== undefined && typeof def.journey.iteration !== 'function')
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `defineScenario "${def.name}": journey.iteration must be an async function of a virtual user`)
  const problem = def.request === undefined ? null : requestSpecProblem(def.request)
  if (problem !== null) throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `defineScenario "${def.name}": request: ${problem}`)
  const params = Object.freeze({ ...(def.params ?? {}) })
  const fixed = def.request === undefined ? undefined : Object.freeze({ ...def.request })
  const userSetup = def.setup
  const name = def.name
  return Object.freeze<Scenario>({
    name,
    description: def.description ?? name,
    consumes: def.consumes ?? false,
    defaultLoad: Object.freeze({
      closed: Object.freeze({ ...DEFAULT_LOAD.closed, ...def.defaultLoad?.closed }),
      open: Object.freeze({ ...DEFAULT_LOAD.open, ...def.defaultLoad?.open }),
      warmupMs: def.defaultLoad?.warmupMs ?? DEFAULT_LOAD.warmupMs
    }),
    params,
    ...(def.k6Script === undefined ? {} : { k6Script: def.k6Script }),
    journey: def.journey !== undefined,
    checkParams: (p) => {
      checkKnownParams(name, p, params)
      def.checkParams?.(p)
    },
    setup: async (ctx) => {
      if (fixed !== undefined) return completeInstance({ nextRequest: () => fixed, fixedRequest: fixed })
      if (def.journey !== undefined) return journeyInstance(def.journey as JourneyDefinition<unknown, unknown>, ctx)
      const startedMs = performance.now()
      const init = await (userSetup as NonNullable<ScenarioDefinition['setup']>)(ctx)
      return completeInstance(init, performance.now() - startedMs)
    }
  })
}

/** A journey's trial instance: its setup's data, and each VU's state (kept here so it outlives one driver pass). */
async function journeyInstance(journey: JourneyDefinition<unknown, unknown>, ctx: SetupContext): Promise<ScenarioInstance> {
  const startedMs = performance.now()
  const data = journey.setup === undefined ? undefined : await journey.setup(ctx)
  const setupMs = performance.now() - startedMs
  const states = new Map<number, unknown>()
  const makeState = journey.state ?? (() => ({}))
  const runtime: JourneyRuntime = Object.freeze({
    data,
    iteration: journey.iteration,
    stateOf: (id: number) => {
      if (!states.has(id)) states.set(id, makeState({ id, data }))
      return states.get(id)
    },
    setState: (id: number, state: unknown) => void states.set(id, state)
  })
  const instance = completeInstance({
    nextRequest: () => {
      throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', 'a journey scenario sends requests from its iterations, not nextRequest')
    },
    stats: () => ({ seeded: 0, exhaustedRequests: 0, setupMs })
  })
  return { ...instance, journey: runtime }
}

/** A named set of environment variables the target is started with (a build flag, a tuning preset). */
export type VariantEnv = Readonly<Record<string, string>>

/** One server-side counter to report: the Prometheus metric and how reports label it. */
export interface CounterDefinition {
  /** Metric family name, e.g. `http_requests_total`; every series of it is summed. */
  metric: string
  /** Label in reports, e.g. "cache hits". Default: the counter's key. */
  label?: string
  /** Only series whose labels match all of these, e.g. `{ result: "hit" }`. */
  match?: Readonly<Record<string, string>>
}

/** How to start, probe, stop and read a service under test. */
export interface TargetDefinition {
  /** Name in reports and in `--target <name>`. */
  name: string
  description?: string
  /** How to start it. The harness picks a free port and passes it as PORT (and HOST) in the environment. */
  start: {
    /** Executable, e.g. `node` or an absolute path; `node` means this very Node binary. */
    command: string
    args?: readonly string[]
    /** Working directory, relative to the config file's folder. Default: that folder. */
    cwd?: string
    /** Environment on top of the harness's own (before any variant's). */
    env?: VariantEnv
    /**
     * `https` when the service listens with TLS; its URL, probes and load then use it. A
     * self-signed certificate needs `--insecure`. Default `http`.
     */
    protocol?: 'http' | 'https'
    /** Environment variable names for the listen address. Default PORT and HOST. */
    portEnv?: string
    hostEnv?: string
  }
  /**
   * For `ab` between git refs: run in each ref's fresh checkout, in the target's folder, before its
   * target starts (e.g. `npm ci`). A shell line, or an argv run without a shell. The built tree
   * is cached by commit, so the next gate run on that commit skips it. Without it, a ref whose
   * package-lock.json matches this checkout's shares its node_modules, and others get `npm ci`.
   */
  install?: string | readonly string[]
  /** For `ab` between git refs: run after `install` (e.g. `npm run build`). */
  build?: string | readonly string[]
  /** When it is ready to measure: a GET that answers 2xx. */
  readiness: {
    /** Path on the target, e.g. `/health`. */
    path: string
    /** How long start-up may take. Default 20 s. */
    timeoutMs?: number
  }
  /**
   * The calibration: a plain GET load beside the run, a yardstick to normalise throughput across
   * machines. `path` must answer 2xx (any other answer is not counted, and a path that does not
   * answer 2xx gets no calibration, with a warning naming it). Default: the readiness path.
   */
  calibration?: { path?: string }
  /** How to stop it: this signal, then SIGKILL after graceMs. Default SIGTERM, 5 s. */
  stop?: { signal?: NodeJS.Signals; graceMs?: number }
  /**
   * An optional Prometheus text endpoint, scraped before and after each measured window; the named
   * counters' increase over the trial goes into the result. CPU time and RSS come from the target's
   * process tree whether or not it has one.
   */
  metrics?: {
    path: string
    counters?: Readonly<Record<string, CounterDefinition>>
  }
  /** Optional: a GET answering the target's effective config as JSON, recorded in the fingerprint. */
  configPath?: string
  /** Pick the config object out of that JSON (default: the whole body). */
  configFrom?: (body: unknown) => Record<string, unknown> | null
  /**
   * Optional: checks the environment a variant, an env file or `--target-env` would start the
   * target with, before anything starts; throw an Error whose message names the variable.
   */
  checkEnv?: (env: Readonly<Record<string, string>>) => void
  /**
   * Optional: the whole environment each variant starts with in `variants`, from the command's
   * target options (see `options`) and this process's environment; throw a BadOptionError
   * naming a bad option. Default: the variant's env with the options' variables on top.
   */
  variantsEnv?: (variant: string, options: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv) => Record<string, string>
  /** Named environment sets (`--variant <name>`, `ab --a <name>`, `variants`). */
  variants?: Readonly<Record<string, VariantEnv>>
  /**
   * What this target calls its variants, when it has a word of its own (e.g. `preset`): the
   * command line then offers `--preset` as another name for `--variant`, and a reported config
   * (configPath) whose key of that name is a string gives the variant in the fingerprint.
   */
  variantAlias?: string
  /**
   * Settings this target takes on the command line, each setting one environment variable
   * (`--store postgres` → STORE=postgres). Only a config that declares them offers them; the
   * fingerprint and reports record their values under these names.
   */
  options?: Readonly<Record<string, TargetOption>>
  /** The variant `run` uses when none is named. Default: none (the target's own defaults). */
  defaultVariant?: string
  /**
   * Optional report data for the variants report (`authbench variants`/`phases`): text beside
   * each variant and a per-scenario guide table of goals.
   */
  report?: VariantsReportData
}

/** One row of a guide table: a published figure and its goal, per scenario (req/s). */
export interface GuideRow {
  currentRps: number
  targetRps: number
}

/** What the variants report explains about one step from one variant to another. */
export interface VariantStepContext {
  scenario: string
  /** The variant before and after the step. */
  from: string
  to: string
  /** The targets' reported configs (configPath), when they reported one. */
  fromConfig: Record<string, unknown> | null
  toConfig: Record<string, unknown> | null
  /** Median per-trial increase of each declared counter, per 1,000 requests and per second. */
  fromCounters: Readonly<Record<string, { per1kRequests: number | null; perS: number | null }>>
  toCounters: Readonly<Record<string, { per1kRequests: number | null; perS: number | null }>>
  /** The step's measured effect on throughput. */
  effect: 'helps' | 'no-effect' | 'worse' | 'unknown'
  /** CPUs the target was pinned to (null: not pinned), and the machine's core count. */
  targetCpus: string | null
  cpuCount: number
}

/** Text and goals a target contributes to the variants report; the harness renders it generically. */
export interface VariantsReportData {
  /** The scenarios `phases` runs by default (default: all of the config's). */
  scenarios?: readonly string[]
  /** One line per variant: what it turns on. */
  variantNotes?: Readonly<Record<string, string>>
  /**
   * A published table of current and goal throughput per scenario. Absolute figures from another
   * machine do not transfer, so the report compares ratios to the `reference` scenario.
   */
  guide?: { reference: string; source: string; rows: Readonly<Record<string, GuideRow>> }
  /** Why a step did (or did not) help, from the counters and configs: one short reason per line. */
  explainStep?: (ctx: VariantStepContext) => string[]
  /** How the target's reported config is summarised in the report's variants table: column → text. */
  describeConfig?: (config: Record<string, unknown>) => Readonly<Record<string, string>>
}

/** One command-line setting a target declares (`options` of its definition). */
export interface TargetOption {
  /** The environment variable it sets, e.g. `STORE`. */
  env: string
  /** The values it accepts; any other is refused before anything starts. Default: any. */
  values?: readonly string[]
  /** What it means, for `--help`. */
  description: string
}

/** Declares a target; returns it unchanged (for types), frozen. */
export function defineTarget(def: TargetDefinition): TargetDefinition {
  return Object.freeze({ ...def })
}

/** Margins and switches of the gate (`compare`, `ab`); see harness/stats/verdict.ts for the defaults. */
export interface GateSettings {
  /** Relative margin per metric, e.g. `{ p99Us: 0.1, throughputRps: 0.05 }`. */
  margins?: Readonly<Record<string, number>>
  /** Fewest valid trials per side for a verdict. */
  minTrials?: number
  [key: string]: unknown
}

/** The load defaults a config may set for every scenario. */
export interface LoadDefaults {
  durationMs?: number
  warmupMs?: number
  trials?: number
  connections?: number
}

/** The whole authbench.config.ts. */
export interface AuthbenchConfig {
  /** Services this config can start; the first is the default (`--target` picks another). */
  targets?: readonly TargetDefinition[]
  /** Scenarios: defined objects, or paths (relative to the config file) of files that default-export one or a list. */
  scenarios: ReadonlyArray<Scenario | string>
  /** Gate settings for `compare` and `ab`. */
  gate?: GateSettings
  /** Default load for every scenario (the command line still wins). */
  load?: LoadDefaults
}

/** Declares the config; returns it unchanged, for types. */
export function defineConfig(config: AuthbenchConfig): AuthbenchConfig {
  return config
}
