// The load engine: runs a plan (scenarios × trials) against a target and builds the RunResult.
// It emits events and knows nothing of the terminal; the CLI's progress display and printers
// subscribe. Targets, drivers and /metrics scraping are injected so tests can use small doubles.
//
// Per trial: (re)start the target if asked, seed the scenario, warm up (not recorded), top up
// consumable data from the warm-up's rate, scrape /metrics, measure, scrape again, judge validity.
// A crashed or silent target, or the caller's abort signal, stops the run within seconds; trials
// already done are kept and the result says why it stopped.
import { CALIBRATION_MAX_SPREAD } from '../stats/verdict.ts'
import { EventEmitter, setMaxListeners } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TargetDefinition } from '../api.ts'
import { SetupFailedError, isAuthbenchError } from '../errors.ts'
import { requestSpecProblem, type Scenario, type ScenarioInstance, type ScenarioParams } from '../api.ts'
import type { Driver, DriverOutcome, RequestSpec } from './drivers/types.ts'
import { mergeEncoded, summarizeEncoded } from '../stats/recorder.ts'
import { classifyOpenModel } from './saturation.ts'
import { summarizeWithSteps } from '../stats/steps.ts'
import { median } from '../stats/stats.ts'
import { watchLiveness } from './target-process.ts'
import { checkCertificate } from './tls.ts'
import type { EnvironmentFingerprint, LoadSettings, RunResult, ScenarioSummary, TimelineRow, TrialResult, TrialValidity } from '../types.ts'
import { buildRunResult } from './run-result.ts'
import { journeyFigures, latencyLowerBound, mergeCounts, mergeJourneyOutcomes } from './journey-figures.ts'
import { workloadOf } from './drivers/registry.ts'
import { DEFAULT_WARMUP_RULE, isSteady, type WarmupRule } from './warmup.ts'

export type { DriverFactory, MeasurementWindowObserver, MetricsScraper, StartTarget, TargetHandle, TrialRef } from './engine-types.ts'
import type { DriverFactory, MeasurementWindowObserver, MetricsScraper, StartTarget, TargetHandle } from './engine-types.ts'

export interface ScenarioPlan {
  scenario: Scenario
  params: ScenarioParams
  load: LoadSettings
}

export interface EnginePlan {
  label: string
  kind?: RunResult['kind']
  scenarios: readonly ScenarioPlan[]
  trials: number
  /** Restart the target before each trial (only when the engine starts it). */
  restartPerTrial: boolean
  /** A trial whose unexpected-status share exceeds this is invalid (ERROR_RATE). */
  errorRateThreshold: number
  /** An open-model trial whose late-send share exceeds this is invalid (CLIENT_LIMITED). */
  lateShareThreshold: number
  /** Raw GET load on the probe path beside the run, to normalise across machines; null to skip. */
  calibration: { durationMs: number; connections: number } | null
  /** Path the liveness watchdog GETs (the target's readiness path). Default '/'. */
  probePath?: string
  /** Path the calibration GETs, which must answer 2xx (the target's calibration.path). Default probePath. */
  calibrationPath?: string
  /** Upper bound on tokens seeded per trial. */
  maxPoolSize: number
  setupConcurrency: number
  /** Consecutive failed health probes (1 s apart) that declare the target unresponsive. */
  unresponsiveProbes: number
  /** What the fingerprint says about the target, beside what the engine can read itself. */
  fingerprint: Omit<EnvironmentFingerprint, 'targetConfig' | 'cpuPinning'> & { cpuPinning?: EnvironmentFingerprint['cpuPinning'] }
  /** The target whose declared counters the result lists (its trials' `server.counters`). */
  target?: Pick<TargetDefinition, 'metrics' | 'options' | 'variantAlias'> | null
  /** When warm-up may end after its minimum (harness/engine/warmup.ts). Default DEFAULT_WARMUP_RULE. */
  warmup?: WarmupRule
}

export interface EngineDeps {
  /** Either a URL of an already running target or a way to start one. */
  target: { url: string } | { start: StartTarget }
  createDriver: DriverFactory
  metrics: MetricsScraper | null
  /** Reads the target's config for the fingerprint; null when unavailable. */
  fetchTargetConfig?: (url: string) => Promise<Record<string, unknown> | null>
  now?: () => number
  /**
   * Highest measured throughput per scenario, shared by engines that run one after another (`ab`
   * runs one engine per pair): later pairs size their token pools from what earlier ones measured
   * instead of from a cold warm-up, whose second half ran at ~40% of the steady rate (ott).
   */
  measuredRps?: Map<string, number>
  /** Sees each trial's measured windows (e.g. harness/profile's TargetProfiler). */
  window?: MeasurementWindowObserver
}

/** runPair's slot length that runs both arms at the same time instead of in alternating slots. */
export const DUET = -1

/** What one slot-interleaved A/B pair produced (Engine.runPair). */
export interface PairOutcome {
  trials: Partial<Record<'A' | 'B', TrialResult>>
  configs: Partial<Record<'A' | 'B', Record<string, unknown> | null>>
  calibration: RunResult['calibration']
  cpuPinning: EnvironmentFingerprint['cpuPinning']
  aborted: RunResult['aborted']
}

export interface PlanStartEvent {
  scenarios: string[]
  trials: number
  totalTrials: number
}
export interface TrialStartEvent {
  scenario: string
  trial: number
  load: LoadSettings
}
/** A step of a trial's lifecycle (not an optimisation phase of the auth target: those are variants). */
export type TrialStage = 'restart' | 'setup' | 'warmup' | 'refill' | 'measure' | 'calibration'
export interface StageEvent {
  scenario: string
  trial: number
  stage: TrialStage
  durationMs: number
  driver?: Driver
}
export interface EngineTickEvent {
  scenario: string
  trial: number
  tick: TimelineRow
}
export interface WarningEvent {
  message: string
  scenario?: string
  trial?: number
}

/** Event names and payloads, for subscribers. */
export interface EngineEvents {
  'plan-start': PlanStartEvent
  'trial-start': TrialStartEvent
  stage: StageEvent
  tick: EngineTickEvent
  'trial-done': TrialResult
  'scenario-done': ScenarioSummary
  warning: WarningEvent
  done: RunResult
}

/** Why the run stopped early. */
class StopSignal {
  constructor(
    readonly code: 'TARGET_CRASHED' | 'SCENARIO_FAILED' | 'ABORTED',
    readonly errorCode: string,
    readonly reason: string
  ) {}
}

/** One abort controller per run (or pair): the caller's signal, a crash or a silent target trip it; the first reason wins. */
class RunControl {
  readonly abort = new AbortController()
  stop: StopSignal | null = null
  readonly #signal: AbortSignal | undefined
  readonly #onCallerAbort = (): void => this.stopWith(new StopSignal('ABORTED', 'AUTHBENCH_ERR_ABORTED', 'interrupted (SIGINT or abort)'))

  constructor(signal: AbortSignal | undefined) {
    // This signal is what a scenario's setup and refill get (SetupContext.signal), and the README's
    // seeding passes it to every fetch. fetch keeps its abort listener on the signal until the
    // request is garbage-collected, and raises the signal's limit only to 1,500: a setup seeding
    // thousands of items piled up past it and printed a MaxListenersExceededWarning for each fetch.
    // The harness's own listeners on it are all removed on their way out, so no limit is lost.
    setMaxListeners(0, this.abort.signal)
    this.#signal = signal
    if (signal?.aborted) this.#onCallerAbort()
    signal?.addEventListener('abort', this.#onCallerAbort, { once: true })
  }

  readonly stopWith = (s: StopSignal): void => {
    if (this.stop === null) this.stop = s
    this.abort.abort()
  }

  /** An error ended the run: the reason, unless a stop (crash, abort) came first. */
  failed(err: unknown): void {
    if (this.stop !== null) return
    const e = err as Error & { code?: string }
    this.stop = new StopSignal(this.abort.signal.aborted ? 'ABORTED' : 'TARGET_CRASHED', e.code ?? 'AUTHBENCH_ERR_RUN_FAILED', e.message)
  }

  dispose(): void {
    this.#signal?.removeEventListener('abort', this.#onCallerAbort)
  }
}

/** What a single run gathers as it goes. */
interface RunState {
  trials: TrialResult[]
  calibration: RunResult['calibration']
  targetConfig: Record<string, unknown> | null
  cpuPinning: EnvironmentFingerprint['cpuPinning']
  /** The target of the current trial; null before the start and after the stop. */
  target: TargetHandle | null
}

/** A pair whose targets are up and warm: what the duet or the slots measure. */
interface PairRun {
  sp: ScenarioPlan
  trials: Readonly<Record<'A' | 'B', number>>
  arms: ReadonlyArray<'A' | 'B'>
  handles: Readonly<Record<'A' | 'B', TargetHandle>>
  prepared: Readonly<Record<'A' | 'B', PreparedArm>>
  signal: AbortSignal
}

/** Each arm's measured slots (one for a duet) and when its first one started. */
interface MeasuredPair {
  slots: Record<'A' | 'B', DriverOutcome[]>
  startedAt: Partial<Record<'A' | 'B', string>>
}

/** One arm of a pair once its target is warm: its scenario instance and the rate it warmed up at. */
interface PreparedArm {
  instance: ScenarioInstance
  measuredRate: number
}

const noConfig = async (): Promise<null> => null

const PROBE_INTERVAL_MS = 1_000
const PROBE_TIMEOUT_MS = 2_000
/** Top-up margin: the measured window runs faster than a cold warm-up (JIT, caches). */
const REFILL_MARGIN = 1.5
// A cold warm-up's second half ran at ~40% of the steady rate (ott: ~3.7k req/s, inferred from the
// pool it sized, against 9.4k measured), and
// seeding through the target's batch route is cheap, so the first trial errs well on the safe side.
const COLD_REFILL_MARGIN = 3
// The calibration is a yardstick between machines, so it must not measure a cold process: a
// 500 ms warm-up and one 2 s reading put two machines 7.0× apart where their health scenario was
// 4.5× and their CPU per request 4.7× apart. It warms up for 2 s and is then read in 1 s slices
// until its last five agree (within CALIBRATION_MAX_SPREAD), at most CALIBRATION_EXTRA_SLICES more
// than five: a fixed 2 s was not enough on the VMs measured (a baseline's five slices rose 33.6k,
// 38.9k, 50.6k, 47.9k, 52.5k req/s, the JIT still warming). The figure is the median of the last
// five, and their spread says how steady it was.
const CALIBRATION_WARMUP_MS = 2_000
const CALIBRATION_SLICE_MS = 1_000
const CALIBRATION_EXTRA_SLICES = 7
/** The calibration commands ask for: 5 slices of 1 s after the warm-up, 32 connections. */
export const CALIBRATION_DEFAULT = Object.freeze({ durationMs: 5_000, connections: 32 })
const CALIBRATION_STATUSES: readonly number[] = Object.freeze(Array.from({ length: 100 }, (_, i) => 200 + i))
/** How long a closed-model driver may keep sending after its request count is reached. */
const STOP_SLACK_MS = 500
/** Without a warm-up to measure, assume this rate when sizing consumable pools. */
const FALLBACK_RATE_RPS = 5_000

export class Engine extends EventEmitter {
  readonly #plan: EnginePlan
  readonly #deps: EngineDeps
  readonly #now: () => number
  /** Set for the duration of run(): trips the run's abort with a reason. */
  #stopWith: ((s: StopSignal) => void) | null = null
  /** Highest measured throughput per scenario so far, to size the next trial's token pool. */
  readonly #measuredRps: Map<string, number>
  /** How long each trial's warm-up ran ("scenario#trial" → ms), for its `setup` record. */
  readonly #warmedMs = new Map<string, number>()

  constructor(plan: EnginePlan, deps: EngineDeps) {
    super()
    this.#plan = plan
    this.#deps = deps
    this.#now = deps.now ?? Date.now
    this.#measuredRps = deps.measuredRps ?? new Map<string, number>()
  }

  override emit<K extends keyof EngineEvents>(event: K, payload: EngineEvents[K]): boolean {
    return super.emit(event, payload)
  }

  override on<K extends keyof EngineEvents>(event: K, listener: (payload: EngineEvents[K]) => void): this {
    return super.on(event, listener as (payload: unknown) => void)
  }

  /**
   * The lifecycle a single run and a pair share: one RunControl (the caller's signal, a crash or a
   * silent target trip it, the first reason wins), the body, then `cleanup` on every path out.
   * Start-up, setup and driver failures end the run the same way. Returns how it stopped, if it did.
   */
  async #lifecycle(signal: AbortSignal | undefined, body: (control: RunControl) => Promise<void>, cleanup: () => Promise<void>): Promise<RunResult['aborted']> {
    const control = new RunControl(signal)
    this.#stopWith = control.stopWith
    try {
      await body(control)
    } catch (err) {
      control.failed(err)
    } finally {
      control.dispose()
      this.#stopWith = null
      await cleanup()
    }
    const stop = control.stop
    return stop === null ? null : { reason: stop.reason, code: stop.errorCode }
  }

  /** A target's exit that nobody asked for stops the run as a crash. */
  #watchCrash(handle: TargetHandle, control: RunControl, prefix = ''): void {
    void handle.exited.then((err) => control.stopWith(new StopSignal('TARGET_CRASHED', 'AUTHBENCH_ERR_TARGET_CRASHED', `${prefix}${err.message}`)))
  }

  /** The target's reported config, if it reports one. */
  async #targetConfig(url: string): Promise<Record<string, unknown> | null> {
    return await (this.#deps.fetchTargetConfig ?? noConfig)(url).catch(() => null)
  }

  /**
   * The calibration workload, when the plan asks for it. It runs once the first scenario's setup
   * has succeeded, so that a setup that fails says so at once rather than after the calibration's
   * seconds. Its failure is a warning: the run's own figures do not depend on it.
   */
  async #calibration(url: string, signal: AbortSignal): Promise<RunResult['calibration']> {
    if (this.#plan.calibration === null || signal.aborted) return null
    return await this.#calibrate(url, signal).catch((err: unknown) => {
      this.emit('warning', { message: `calibration failed: ${(err as Error).message}` })
      return null
    })
  }

  /** Runs the whole plan. Never rejects for a target failure or abort: the result says so. */
  async run(signal?: AbortSignal): Promise<RunResult> {
    const plan = this.#plan
    const state: RunState = { trials: [], calibration: null, targetConfig: null, cpuPinning: plan.fingerprint.cpuPinning ?? { target: null, generator: null }, target: null }
    const createdAt = new Date(this.#now()).toISOString()
    this.emit('plan-start', { scenarios: plan.scenarios.map((s) => s.scenario.name), trials: plan.trials, totalTrials: plan.scenarios.length * plan.trials })
    const aborted = await this.#lifecycle(
      signal,
      async (control) => {
        await this.#startTarget(state, control)
        state.targetConfig = await this.#targetConfig((state.target as TargetHandle).url)
        await this.#runTrials(state, control)
      },
      () => this.#stopTarget(state)
    )
    const result = buildRunResult({
      kind: plan.kind ?? 'run',
      label: plan.label,
      createdAt,
      fingerprint: plan.fingerprint,
      targetConfig: state.targetConfig,
      cpuPinning: state.cpuPinning,
      scenarios: plan.scenarios,
      trials: state.trials,
      calibration: state.calibration,
      aborted,
      target: plan.target ?? null
    })
    this.emit('done', result)
    return result
  }

  /** Starts the run's target (or takes the one at the URL); its crash stops the run. */
  async #startTarget(state: RunState, control: RunControl): Promise<void> {
    const deps = this.#deps.target
    if ('url' in deps) {
      // autocannon never checks a certificate, so the harness does, once, before any load.
      await checkCertificate(`${deps.url}${this.#plan.probePath ?? '/'}`)
      state.target = { url: deps.url, pid: null, cpuPinning: state.cpuPinning, exited: new Promise<Error>(() => undefined), stop: async () => undefined }
      return
    }
    const handle = await deps.start(control.abort.signal)
    state.target = handle
    state.cpuPinning = handle.cpuPinning
    this.#watchCrash(handle, control)
  }

  async #stopTarget(state: RunState): Promise<void> {
    const t = state.target
    state.target = null
    if (t !== null) await t.stop().catch(() => undefined)
  }

  /** Every scenario's trials, in order, restarting the target between trials when the plan says so. */
  async #runTrials(state: RunState, control: RunControl): Promise<void> {
    const plan = this.#plan
    const runSignal = control.abort.signal
    let trialsStarted = 0
    let calibrated = false
    const calibrateOnce = async (url: string): Promise<void> => {
      if (calibrated) return
      calibrated = true
      state.calibration = await this.#calibration(url, runSignal)
    }
    for (const sp of plan.scenarios) {
      for (let trial = 0; trial < plan.trials; trial++) {
        if (runSignal.aborted) return
        // The first trial already has a fresh target (calibration only read its own path).
        if (plan.restartPerTrial && trialsStarted++ > 0 && !('url' in this.#deps.target)) {
          this.emit('stage', { scenario: sp.scenario.name, trial, stage: 'restart', durationMs: 0 })
          await this.#stopTarget(state)
          await this.#startTarget(state, control)
        }
        const current = state.target
        if (current === null) return
        const result = await this.#trial(
          sp,
          trial,
          current,
          runSignal,
          () => control.stop,
          () => calibrateOnce(current.url)
        )
        if (result !== null) {
          state.trials.push(result)
          this.emit('trial-done', result)
        }
        if (runSignal.aborted) return
      }
      this.emit('scenario-done', summarizeWithSteps(sp.scenario.name, state.trials))
    }
  }

  /** One trial; null when stopped before it measured anything. */
  async #trial(
    sp: ScenarioPlan,
    trial: number,
    target: TargetHandle,
    runSignal: AbortSignal,
    stopReason: () => StopSignal | null,
    afterSetup: () => Promise<void>
  ): Promise<TrialResult | null> {
    const name = sp.scenario.name
    const load = sp.load
    const url = target.url
    const prepared = await this.#prepare(sp, trial, url, runSignal, afterSetup)
    if (prepared === null) return null
    const { instance, measuredRate } = prepared

    const before = await this.#scrape(url, runSignal, name, trial)
    const win = this.#deps.window
    const ref = { scenario: name, trial }
    await win?.open(target, ref)
    try {
      const startedAt = new Date(this.#now()).toISOString()
      const rateGuessRps = Math.max(measuredRate, this.#measuredRps.get(name) ?? 0, FALLBACK_RATE_RPS)
      const measuredLoad = { ...load, warmupMs: 0, maxRequests: capRequests(load, instance.capacity(), rateGuessRps) }
      win?.slotStart(target)
      const outcome = await this.#drive(name, trial, url, measuredLoad, instance, runSignal, true)
      win?.slotEnd(target)
      if (measuredLoad.maxRequests !== load.maxRequests && outcome.requests >= (measuredLoad.maxRequests ?? Infinity) && outcome.durationMs < load.durationMs * 0.9) {
        this.#warnRanOut(name, trial, outcome.durationMs, load.durationMs, instance)
      }
      const stopNow = stopReason()
      const after = before === undefined || stopNow !== null ? undefined : await this.#scrape(url, undefined, name, trial)
      return this.#result(name, trial, startedAt, outcome, before, after, instance, stopNow)
    } finally {
      await win?.close(target, ref)
    }
  }

  /**
   * Seed the scenario, run `afterSetup` (the calibration, once per run), warm up (not recorded),
   * top up consumables, reset the instance's counters.
   */
  async #prepare(
    sp: ScenarioPlan,
    trial: number,
    url: string,
    runSignal: AbortSignal,
    afterSetup?: () => Promise<void>
  ): Promise<{ instance: ScenarioInstance; measuredRate: number } | null> {
    const plan = this.#plan
    const name = sp.scenario.name
    const load = sp.load
    this.emit('trial-start', { scenario: name, trial, load })

    const expectedWarmup = load.model === 'open' && load.rateRps !== null ? load.rateRps * (load.warmupMs / 1000) : FALLBACK_RATE_RPS * (load.warmupMs / 1000)
    this.emit('stage', { scenario: name, trial, stage: 'setup', durationMs: 0 })
    const instance = await sp.scenario
      .setup({
        url,
        expectedRequests: sp.scenario.consumes ? Math.ceil(expectedWarmup * REFILL_MARGIN) + 100 : 0,
        maxPoolSize: plan.maxPoolSize,
        concurrency: plan.setupConcurrency,
        params: sp.params,
        signal: runSignal
      })
      .catch((err: unknown) => {
        // A scenario is user code: whatever it throws becomes a coded error naming it, and where
        // in the user's files it was thrown.
        if (isAuthbenchError(err) || runSignal.aborted) throw err
        const at = userCodeLocation(err)
        throw new SetupFailedError(`scenario "${name}" setup failed: ${(err as Error).message ?? String(err)}${at === null ? '' : ` (at ${at})`}`, { cause: err })
      })
    if (runSignal.aborted) return null
    await afterSetup?.()
    if (runSignal.aborted) return null

    let measuredRate = load.model === 'open' && load.rateRps !== null ? load.rateRps : FALLBACK_RATE_RPS
    const warmup = await this.#warmUp(sp, trial, url, instance, runSignal)
    if (warmup === null) return null
    if (warmup.rateRps !== null) measuredRate = warmup.rateRps
    this.#warmedMs.set(`${name}#${trial}`, warmup.warmedMs)
    if (sp.scenario.consumes) {
      this.emit('stage', { scenario: name, trial, stage: 'refill', durationMs: 0 })
      // A cold first warm-up underestimates the rate (JIT, caches); later trials know better.
      const seen = this.#measuredRps.get(name)
      const rate = seen === undefined ? Math.max(measuredRate * COLD_REFILL_MARGIN, load.model === 'closed' ? FALLBACK_RATE_RPS : 0) : Math.max(measuredRate, seen) * REFILL_MARGIN
      const needed = Math.ceil(rate * (load.durationMs / 1000)) + 100
      // The margin above is a guess against a rate that is still rising; only a cap below what
      // the rate measured now would use is worth a warning.
      const atMeasuredRate = Math.ceil(Math.max(measuredRate, seen ?? 0) * (load.durationMs / 1000)) + 100
      if (atMeasuredRate > plan.maxPoolSize && !warmup.rateIsGuess) {
        this.emit('warning', {
          scenario: name,
          trial,
          message: `${name}: about ${atMeasuredRate} fresh seeded items would be needed at ${Math.round(Math.max(measuredRate, seen ?? 0))} req/s; capped at ${plan.maxPoolSize} (raise --max-pool or shorten --duration)`
        })
      }
      await instance.refill(needed, runSignal)
      if (runSignal.aborted) return null
    }
    instance.resetStats()
    return { instance, measuredRate }
  }

  /**
   * Warm-up, not recorded: at least `load.warmupMs`, in chunks of the plan's warm-up rule, then on
   * until the target's cost per request stops falling (harness/engine/warmup.ts) or the rule's maximum.
   * The cost is the target's CPU µs per request when its CPU can be read, else wall µs per request.
   * Null when stopped; `rateRps` is the last chunk's closed-model rate (what pools are sized from).
   */
  async #warmUp(
    sp: ScenarioPlan,
    trial: number,
    url: string,
    instance: ScenarioInstance,
    runSignal: AbortSignal
  ): Promise<{ warmedMs: number; rateRps: number | null; rateIsGuess: boolean } | null> {
    const load = sp.load
    const name = sp.scenario.name
    if (load.warmupMs <= 0) return { warmedMs: 0, rateRps: null, rateIsGuess: false }
    const rule = this.#plan.warmup ?? DEFAULT_WARMUP_RULE
    // A short warm-up asked for stays short (a test's 200 ms), at most ten times what was asked.
    const maxMs = Math.max(load.warmupMs, load.warmupMaxMs ?? Math.min(rule.maxMs, 10 * load.warmupMs))
    const chunkMs = Math.max(100, Math.min(rule.chunkMs, load.warmupMs))
    this.emit('stage', { scenario: name, trial, stage: 'warmup', durationMs: load.warmupMs })
    const costs: number[] = []
    let warmedMs = 0
    let rateRps: number | null = null
    let capped = false
    while (warmedMs < load.warmupMs || (warmedMs + chunkMs <= maxMs && !isSteady(costs, rule.tolerance))) {
      if (sp.scenario.consumes && (warmedMs >= load.warmupMs || capped)) {
        // The seeded pool was sized for the minimum warm-up at a guessed rate; an extension, or a
        // chunk after one that ran out of tokens, tops it up first.
        await instance.refill(Math.ceil(Math.max(rateRps ?? 0, FALLBACK_RATE_RPS) * (chunkMs / 1000) * REFILL_MARGIN) + 100, runSignal)
        if (runSignal.aborted) return null
      }
      const before = await this.#quietScrape(url, runSignal)
      const maxRequests = capRequests({ ...load, durationMs: chunkMs }, instance.capacity(), rateRps ?? FALLBACK_RATE_RPS)
      const chunk = await this.#drive(name, trial, url, { ...load, durationMs: chunkMs, warmupMs: 0, maxRequests }, instance, runSignal, false)
      if (runSignal.aborted) return null
      const after = before === undefined ? undefined : await this.#quietScrape(url, runSignal)
      warmedMs += chunk.durationMs > 0 ? chunk.durationMs : chunkMs
      // A chunk that ran out of tokens ended early, and its start-up (connections, a cold JIT)
      // weighed on its rate: a lower bound, once 2.3k req/s for a scenario that ran at 20k, which
      // left the first trial's pool a third of what it needed. The estimate then grows fourfold
      // until a chunk runs its full length.
      capped = maxRequests !== null && chunk.requests >= maxRequests
      if (chunk.durationMs > 0 && load.model === 'closed') {
        const measured = chunk.requests / (chunk.durationMs / 1000)
        rateRps = capped ? Math.max(measured, 4 * (rateRps ?? FALLBACK_RATE_RPS)) : measured
      }
      const cpu =
        before !== undefined && after !== undefined && this.#deps.metrics !== null ? (this.#deps.metrics.delta(before, after, chunk.requests)?.cpuUsPerRequest ?? null) : null
      costs.push(cpu !== null && cpu > 0 ? cpu : chunk.requests > 0 ? (chunk.durationMs * 1000) / chunk.requests : Number.NaN)
      if (chunk.requests === 0) break
    }
    return { warmedMs: Math.round(warmedMs), rateRps, rateIsGuess: capped }
  }

  #warnRanOut(name: string, trial: number, ranMs: number, plannedMs: number, instance: ScenarioInstance): void {
    this.emit('warning', {
      scenario: name,
      trial,
      message: `${name} trial ${trial + 1} ended after ${Math.round(ranMs)} of ${plannedMs} ms: its ${instance.stats().seeded} seeded items ran out (raise --max-pool or shorten --duration)`
    })
  }

  /** The trial's record from what the driver measured and the two /metrics snapshots around it. */
  #result(
    name: string,
    trial: number,
    startedAt: string,
    outcome: DriverOutcome,
    before: unknown,
    after: unknown,
    instance: ScenarioInstance,
    stopNow: StopSignal | null
  ): TrialResult {
    const server = before !== undefined && after !== undefined && this.#deps.metrics !== null ? this.#deps.metrics.delta(before, after, outcome.requests) : null

    const stats = instance.stats()
    const validity = this.#judge(outcome, stats.exhaustedRequests, stopNow)
    const durationS = outcome.durationMs / 1000
    if (durationS > 0) this.#measuredRps.set(name, Math.max(this.#measuredRps.get(name) ?? 0, outcome.requests / durationS))
    return {
      scenario: name,
      trial,
      startedAt,
      durationMs: outcome.durationMs,
      requests: outcome.requests,
      successes: outcome.successes,
      errors: outcome.errors,
      errorRate: outcome.requests === 0 ? 0 : outcome.errors / outcome.requests,
      // Open model: what completed inside the window, not the backlog answered after it (a
      // journey's open-model figures count iterations, so its requests are counted directly).
      throughputRps:
        outcome.journey === undefined && outcome.openModel?.completedRps !== undefined ? outcome.openModel.completedRps : durationS > 0 ? outcome.requests / durationS : 0,
      bytesRead: outcome.bytesRead,
      meanResponseBytes: outcome.requests === 0 ? 0 : outcome.bytesRead / outcome.requests,
      latencyUs: summarizeEncoded(outcome.histogram),
      histogram: outcome.histogram,
      errorsByKind: outcome.errorsByKind,
      statusCounts: outcome.statusCounts,
      timeline: outcome.timeline,
      ...(outcome.openModel === undefined ? {} : { openModel: outcome.openModel }),
      ...(outcome.journey === undefined ? {} : { journey: journeyFigures(outcome.journey, outcome.durationMs) }),
      ...(latencyLowerBound(outcome) ? { latencyLowerBound: true } : {}),
      server,
      setup: { seeded: stats.seeded, setupMs: stats.setupMs, exhaustedRequests: stats.exhaustedRequests, warmupMs: this.#warmedMs.get(`${name}#${trial}`) ?? 0 },
      validity
    }
  }

  /**
   * One A/B pair, slot-interleaved (closed model): both arms' targets are started fresh and run
   * side by side; each is seeded and warmed up, then the measured time alternates between them in
   * short slots (A B B A A B …, or B A A B … when B goes first), so that both arms are measured
   * through the same seconds of the machine. On a shared host the same tool against the same target
   * moves ±10-25% between seconds, in spells that last seconds; two trials run one after the other
   * (seconds apart) see different spells, slots 0.5 s apart mostly see the same one. Each arm's
   * slots are merged into one trial: counts summed, histograms added bucket by bucket, the
   * timeline rebuilt per second of that arm's measured time from the slots' histograms, and the
   * server-side delta taken over the whole measured window of that arm's own target.
   *
   * `deps.target` is not used: the two targets come from `targets`. Never rejects for a target
   * failure or abort; `aborted` says what happened and the trials measured so far are returned.
   */
  async runPair(
    targets: Readonly<Record<'A' | 'B', StartTarget>>,
    sp: ScenarioPlan,
    trials: Readonly<Record<'A' | 'B', number>>,
    first: 'A' | 'B',
    slotMs: number,
    signal?: AbortSignal
  ): Promise<PairOutcome> {
    const arms: Array<'A' | 'B'> = first === 'A' ? ['A', 'B'] : ['B', 'A']
    const handles: Partial<Record<'A' | 'B', TargetHandle>> = {}
    const out: PairOutcome = { trials: {}, configs: {}, calibration: null, cpuPinning: this.#plan.fingerprint.cpuPinning ?? { target: null, generator: null }, aborted: null }
    const name = sp.scenario.name
    const win = this.#deps.window
    const opened: Array<'A' | 'B'> = []
    const handle = (arm: 'A' | 'B'): TargetHandle => handles[arm] as TargetHandle
    out.aborted = await this.#lifecycle(
      signal,
      async (control) => {
        await this.#startArms(targets, arms, handles, control)
        out.cpuPinning = handle('A').cpuPinning
        out.configs.A = await this.#targetConfig(handle('A').url)
        out.configs.B = await this.#targetConfig(handle('B').url)
        // The calibration (on A's target, as in every pair) once the second arm's setup succeeded.
        const afterSetup = async (): Promise<void> => {
          out.calibration = await this.#calibration(handle('A').url, control.abort.signal)
        }
        const prepared: Partial<Record<'A' | 'B', PreparedArm>> = {}
        // Each arm warms up alone, even in a duet: warming both at once on one core made the
        // warm-up curve flat for its first seconds (both arms slow), and the steadiness rule ended it
        // early, with the JIT still compiling (measured: CPU µs/req 300–650 instead of ~300).
        for (const arm of arms) {
          const p = await this.#prepare(sp, trials[arm], handle(arm).url, control.abort.signal, arm === arms.at(-1) ? afterSetup : undefined)
          if (p === null) return
          prepared[arm] = p
        }
        const before: Partial<Record<'A' | 'B', unknown>> = {}
        for (const arm of arms) before[arm] = await this.#scrape(handle(arm).url, control.abort.signal, name, trials[arm])
        for (const arm of arms) {
          await win?.open(handle(arm), { scenario: name, trial: trials[arm] })
          opened.push(arm)
        }
        const pair = { sp, trials, arms, handles: handles as Record<'A' | 'B', TargetHandle>, prepared: prepared as Record<'A' | 'B', PreparedArm>, signal: control.abort.signal }
        const measured = slotMs === DUET ? await this.#duet(pair) : await this.#slots(pair, slotMs)
        const stopNow = control.stop
        for (const arm of arms) {
          const p = pair.prepared[arm]
          const merged = mergeSlotOutcomes(measured.slots[arm])
          if (sp.scenario.consumes && merged.durationMs < sp.load.durationMs * 0.9 && stopNow === null)
            this.#warnRanOut(name, trials[arm], merged.durationMs, sp.load.durationMs, p.instance)
          const after = before[arm] === undefined || stopNow !== null ? undefined : await this.#scrape(handle(arm).url, undefined, name, trials[arm])
          const result = this.#result(name, trials[arm], measured.startedAt[arm] ?? new Date(this.#now()).toISOString(), merged, before[arm], after, p.instance, stopNow)
          out.trials[arm] = result
          this.emit('trial-done', result)
        }
      },
      async () => {
        for (const arm of opened) await win?.close(handle(arm), { scenario: name, trial: trials[arm] })
        await Promise.all(Object.values(handles).map((h) => h.stop().catch(() => undefined)))
      }
    )
    return out
  }

  /** Starts both arms' targets at once; each one's crash stops the pair, naming the arm. */
  async #startArms(
    targets: Readonly<Record<'A' | 'B', StartTarget>>,
    arms: ReadonlyArray<'A' | 'B'>,
    handles: Partial<Record<'A' | 'B', TargetHandle>>,
    control: RunControl
  ): Promise<void> {
    const started = await Promise.allSettled(
      arms.map(async (arm) => {
        const handle = await targets[arm](control.abort.signal)
        handles[arm] = handle
        this.#watchCrash(handle, control, `arm ${arm}: `)
        return handle
      })
    )
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /**
   * Duet: both arms under load at the same moment for the whole measured time, so every instant's
   * noise on the target core hits both (Bulej et al., ICPE 2020).
   */
  async #duet(pair: PairRun): Promise<MeasuredPair> {
    const name = pair.sp.scenario.name
    const duetLoad = { ...pair.sp.load, warmupMs: 0 }
    const measured: MeasuredPair = { slots: { A: [], B: [] }, startedAt: {} }
    const outcomes = await Promise.all(
      pair.arms.map(async (arm) => {
        const p = pair.prepared[arm]
        const rateGuessRps = Math.max(p.measuredRate, this.#measuredRps.get(name) ?? 0, FALLBACK_RATE_RPS)
        const capped = capRequests(duetLoad, p.instance.capacity(), rateGuessRps, STOP_SLACK_MS)
        measured.startedAt[arm] = new Date(this.#now()).toISOString()
        this.#deps.window?.slotStart(pair.handles[arm])
        const outcome = await this.#drive(name, pair.trials[arm], pair.handles[arm].url, { ...duetLoad, maxRequests: capped }, p.instance, pair.signal, false)
        this.#deps.window?.slotEnd(pair.handles[arm])
        return [arm, outcome] as const
      })
    )
    for (const [arm, outcome] of outcomes) measured.slots[arm].push(outcome)
    return measured
  }

  /** A B | B A | A B …: each arm goes first in every other slot pair, so a drift within a pair cancels too. */
  async #slots(pair: PairRun, slotMs: number): Promise<MeasuredPair> {
    const name = pair.sp.scenario.name
    const load = pair.sp.load
    const slotsPerArm = Math.max(1, Math.round(load.durationMs / slotMs))
    const slotLoad = { ...load, warmupMs: 0, durationMs: load.durationMs / slotsPerArm }
    const measured: MeasuredPair = { slots: { A: [], B: [] }, startedAt: {} }
    for (let k = 0; k < slotsPerArm && !pair.signal.aborted; k++) {
      for (const arm of k % 2 === 0 ? pair.arms : [...pair.arms].reverse()) {
        if (pair.signal.aborted) break
        const p = pair.prepared[arm]
        const rateGuessRps = Math.max(p.measuredRate, this.#measuredRps.get(name) ?? 0, FALLBACK_RATE_RPS)
        // The full stop slack (a slot's worth of requests at 500 ms) reserved before every slot
        // would strand half the pool: a quarter slot is kept instead; a spent item reused
        // anyway is counted (exhaustedRequests) and judged by the validity check.
        const capped = capRequests(slotLoad, p.instance.capacity(), rateGuessRps, Math.min(STOP_SLACK_MS, slotLoad.durationMs / 4))
        if (capped !== null && capped <= 1 && capped !== slotLoad.maxRequests) continue
        measured.startedAt[arm] ??= new Date(this.#now()).toISOString()
        this.#deps.window?.slotStart(pair.handles[arm])
        const outcome = await this.#drive(name, pair.trials[arm], pair.handles[arm].url, { ...slotLoad, maxRequests: capped }, p.instance, pair.signal, false)
        this.#deps.window?.slotEnd(pair.handles[arm])
        measured.slots[arm].push(outcome)
      }
    }
    return measured
  }

  #judge(outcome: DriverOutcome, exhaustedRequests: number, stop: StopSignal | null): TrialValidity {
    const plan = this.#plan
    if (stop !== null) return { state: 'invalid', code: stop.code, reason: stop.reason }
    if (outcome.aborted) return { state: 'invalid', code: 'ABORTED', reason: 'the driver stopped before the planned end' }
    if (outcome.requests === 0) return { state: 'invalid', code: 'NO_RESPONSES', reason: 'no request completed' }
    const exhaustedShare = exhaustedRequests / outcome.requests
    if (exhaustedRequests > 0 && exhaustedShare > plan.errorRateThreshold) {
      return {
        state: 'invalid',
        code: 'CLIENT_LIMITED',
        reason: `the harness ran out of seeded items: ${exhaustedRequests} requests (${pct(exhaustedShare)}) reused a spent one; the client, not the server, was the limit`
      }
    }
    // Open model: who limited the trial comes first, since a saturated server or a busy generator
    // also explains the errors (sheds, timeouts) that follow from it.
    const open = outcome.openModel
    if (open !== undefined) {
      const v = classifyOpenModel(open, plan.lateShareThreshold)
      const facts = `offered ${open.targetRps} req/s, completed ${Math.round(open.completedRps ?? 0)} req/s, ${pct(v.dropShare)} of sends dropped and ${pct(v.lateShare)} late; generator CPU ${pct(open.generatorCpuShare ?? 0)} of a core, event-loop lag p99 ${open.eventLoopLagP99Ms} ms`
      if (v.limitedBy === 'server') {
        return {
          state: 'invalid',
          code: 'SERVER_SATURATED',
          reason: `the server, not the client, was the limit: ${facts} (in flight at most ${open.maxInFlight ?? '?'}); lower --rate to measure below saturation`
        }
      }
      if (v.limitedBy === 'client') {
        return { state: 'invalid', code: 'CLIENT_LIMITED', reason: `the load generator, not the server, was the limit: ${facts}` }
      }
    }
    const errorRate = outcome.errors / outcome.requests
    if (errorRate > plan.errorRateThreshold) {
      return {
        state: 'invalid',
        code: 'ERROR_RATE',
        reason: `${pct(errorRate)} of requests got an unexpected result (threshold ${pct(plan.errorRateThreshold)}): ${describeErrors(outcome)}`
      }
    }
    return { state: 'valid' }
  }

  /** Runs one driver pass; a silent target trips the run's abort within a few probe intervals. */
  async #drive(name: string, trial: number, url: string, load: LoadSettings, instance: ScenarioInstance, runSignal: AbortSignal, measured: boolean): Promise<DriverOutcome> {
    const driver = this.#deps.createDriver(load.model, workloadOf({ journey: instance.journey !== undefined }, load))
    const onTick = (tick: TimelineRow): void => void this.emit('tick', { scenario: name, trial, tick })
    if (measured) {
      driver.on('tick', onTick)
      this.emit('stage', { scenario: name, trial, stage: 'measure', durationMs: load.durationMs, driver })
    }
    const watchdog = this.#watch(url, runSignal)
    try {
      return await driver.run({
        url,
        load,
        nextRequest: instance.fixedRequest === undefined ? this.#guarded(name, instance) : instance.nextRequest,
        ...(instance.fixedRequest === undefined ? {} : { fixedRequest: instance.fixedRequest }),
        ...(instance.journey === undefined ? {} : { journey: instance.journey }),
        onScenarioError: (why) => this.#stopWith?.(new StopSignal('SCENARIO_FAILED', 'AUTHBENCH_ERR_SETUP_FAILED', `scenario ${name}: ${why}`)),
        signal: runSignal
      })
    } finally {
      watchdog.stop()
      driver.off('tick', onTick)
    }
  }

  /**
   * A scenario's nextRequest as the driver calls it, on its hot path: a throw there is the
   * scenario's bug, not the target's, so it stops the run as SCENARIO_FAILED (exit 2) instead of
   * escaping into the driver's event loop and killing the process. Until the run has stopped, the
   * last good request (or a GET of the probe path) is sent in its place.
   */
  #guarded(name: string, instance: ScenarioInstance): () => RequestSpec {
    let last: RequestSpec = Object.freeze({ method: 'GET', path: this.#plan.probePath ?? '/', expectedStatuses: [] })
    let checked = false
    const fail = (why: string): void => this.#stopWith?.(new StopSignal('SCENARIO_FAILED', 'AUTHBENCH_ERR_SETUP_FAILED', `scenario ${name}: ${why}`))
    return () => {
      try {
        const spec = instance.nextRequest()
        // The first request's shape is checked once: a typo in a key would otherwise fail deep
        // in a driver, or be sent and miscounted; later ones are the scenario's own business.
        const problem = checked ? null : requestSpecProblem(spec)
        checked = true
        if (problem === null) last = spec
        else fail(`its first request: ${problem}`)
      } catch (err) {
        fail(`threw while making a request: ${(err as Error).name}: ${(err as Error).message}`)
      }
      return last
    }
  }

  /** Health probes beside the load (target-process's watchdog); a silent target aborts the run. */
  #watch(url: string, runSignal: AbortSignal): { stop: () => void } {
    const watchdog = watchLiveness(url, {
      path: this.#plan.probePath ?? '/',
      intervalMs: PROBE_INTERVAL_MS,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
      failures: this.#plan.unresponsiveProbes
    })
    const onDead = (): void => {
      const reason = watchdog.signal.reason as (Error & { code?: string }) | undefined
      this.#stopWith?.(new StopSignal('TARGET_CRASHED', reason?.code ?? 'AUTHBENCH_ERR_TARGET_UNRESPONSIVE', reason?.message ?? `target ${url} stopped answering`))
    }
    watchdog.signal.addEventListener('abort', onDead, { once: true })
    const stopAll = (): void => {
      watchdog.signal.removeEventListener('abort', onDead)
      watchdog.stop()
    }
    runSignal.addEventListener('abort', stopAll, { once: true })
    return {
      stop: () => {
        runSignal.removeEventListener('abort', stopAll)
        stopAll()
      }
    }
  }

  /** A warm-up chunk's reading: a target that cannot be scraped warms by wall time, without a warning per chunk. */
  async #quietScrape(url: string, signal: AbortSignal): Promise<unknown> {
    const m = this.#deps.metrics
    if (m === null) return undefined
    return await m.snapshot(url, signal).catch(() => undefined)
  }

  async #scrape(url: string, signal: AbortSignal | undefined, scenario: string, trial: number): Promise<unknown> {
    const m = this.#deps.metrics
    if (m === null) return undefined
    try {
      return await m.snapshot(url, signal)
    } catch (err) {
      this.emit('warning', { scenario, trial, message: `could not scrape ${url}/metrics: ${(err as Error).message}` })
      return undefined
    }
  }

  async #calibrate(url: string, runSignal: AbortSignal): Promise<RunResult['calibration']> {
    const cal = this.#plan.calibration
    if (cal === null) return null
    const load: LoadSettings = {
      model: 'closed',
      durationMs: cal.durationMs,
      warmupMs: 0,
      connections: cal.connections,
      pipelining: 1,
      rateRps: null,
      maxRequests: null,
      timeoutMs: 10_000
    }
    this.emit('stage', { scenario: 'calibration', trial: 0, stage: 'calibration', durationMs: cal.durationMs })
    const calibrationPath = this.#plan.calibrationPath ?? this.#plan.probePath ?? '/'
    const spec: RequestSpec = Object.freeze({ method: 'GET', path: calibrationPath, expectedStatuses: CALIBRATION_STATUSES, tag: 'calibration' })
    const instance: ScenarioInstance = {
      nextRequest: () => spec,
      fixedRequest: spec,
      refill: async () => undefined,
      resetStats: () => undefined,
      stats: () => ({ seeded: 0, exhaustedRequests: 0, setupMs: 0 }),
      capacity: () => null
    }
    // A short unrecorded pass first: a cold process would report its JIT, not the machine.
    const warm = await this.#drive('calibration', 0, url, { ...load, durationMs: CALIBRATION_WARMUP_MS }, instance, runSignal, false)
    if (runSignal.aborted) return null
    // A yardstick of 404s (a service with nothing at /) measures the service's error path, or
    // nothing at all: only a path that answers 2xx is measured.
    if (warm.requests === 0 || warm.errors / warm.requests > this.#plan.errorRateThreshold) {
      this.emit('warning', {
        message: `calibration skipped: GET ${calibrationPath} answered ${describeErrors(warm)} of ${warm.requests} requests, not 2xx; give the target a calibration.path that answers 2xx (default: its readiness path)`
      })
      return null
    }
    const slices = Math.max(1, Math.round(cal.durationMs / CALIBRATION_SLICE_MS))
    // Each slice with the scrapes around it, so that CPU µs/req covers the slices used and no
    // warm-up slice before them.
    const readings: Array<{ rps: number; requests: number; before: unknown; after: unknown }> = []
    let scrape = await this.#scrape(url, runSignal, 'calibration', 0)
    const spreadOf = (rps: readonly number[]): number => {
      const m = median(rps)
      return m > 0 ? (Math.max(...rps) - Math.min(...rps)) / m : Number.POSITIVE_INFINITY
    }
    for (let i = 0; i < slices + CALIBRATION_EXTRA_SLICES && !runSignal.aborted; i++) {
      const before = scrape
      const outcome = await this.#drive('calibration', 0, url, { ...load, durationMs: Math.min(CALIBRATION_SLICE_MS, cal.durationMs) }, instance, runSignal, false)
      scrape = before === undefined ? undefined : await this.#scrape(url, runSignal, 'calibration', 0)
      // Only 2xx answers count: the path's other answers are not the work the yardstick stands for.
      if (outcome.successes > 0 && outcome.durationMs > 0)
        readings.push({ rps: outcome.successes / (outcome.durationMs / 1000), requests: outcome.successes, before, after: scrape })
      if (readings.length >= slices && spreadOf(readings.slice(-slices).map((r) => r.rps)) <= CALIBRATION_MAX_SPREAD) break
    }
    const used = readings.slice(-slices)
    if (runSignal.aborted || used.length === 0) return null
    const samplesRps = used.map((r) => r.rps)
    const requests = used.reduce((sum, r) => sum + r.requests, 0)
    const first = used[0] as (typeof used)[number]
    const last = used.at(-1) as (typeof used)[number]
    const server = first.before !== undefined && last.after !== undefined && this.#deps.metrics !== null ? this.#deps.metrics.delta(first.before, last.after, requests) : null
    const medianRps = median(samplesRps)
    const spread = spreadOf(samplesRps)
    if (spread > CALIBRATION_MAX_SPREAD) {
      this.emit('warning', {
        message: `calibration was unsteady: its last ${samplesRps.length} slices (of ${readings.length}) ranged ${Math.round(Math.min(...samplesRps))}–${Math.round(Math.max(...samplesRps))} req/s (±${Math.round(spread * 50)}%); throughput normalised across machines by it is unreliable`
      })
    }
    return {
      throughputRps: Math.round(medianRps * 10) / 10,
      cpuUsPerRequest: server?.cpuUsPerRequest ?? null,
      samplesRps: samplesRps.map((r) => Math.round(r * 10) / 10),
      spread: Math.round(spread * 1e4) / 1e4
    }
  }
}

const HARNESS_DIR = fileURLToPath(new URL('..', import.meta.url))

/**
 * Where in the user's own code an error was thrown, as `file:line` (relative to the working
 * directory when inside it): the first stack frame outside the harness, node_modules and Node's
 * built-in modules. Null when the stack names no such file.
 */
export function userCodeLocation(err: unknown, cwd = process.cwd()): string | null {
  const stack = (err as { stack?: unknown } | null)?.stack
  if (typeof stack !== 'string') return null
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^\s()?]+)(?:\?[^\s():]*)?:(\d+):\d+\)?$/.exec(line.trim())
    if (m === null) continue
    const raw = m[1] as string
    const file = raw.startsWith('file://') ? fileURLToPath(raw) : raw
    if (file.startsWith(HARNESS_DIR) || file.includes(`${path.sep}node_modules${path.sep}`)) continue
    const relative = path.relative(cwd, file)
    return `${relative.startsWith('..') || path.isAbsolute(relative) ? file : relative}:${m[2]}`
  }
  return null
}

/**
 * One arm's slots as one trial: counts and status/error tallies summed, histograms added bucket by
 * bucket (exact percentiles, never averaged), and a timeline with one row per second of the arm's
 * own measured time (mergeSlotTimelines).
 */
export function mergeSlotOutcomes(slots: readonly DriverOutcome[]): DriverOutcome {
  return {
    durationMs: slots.reduce((acc, o) => acc + o.durationMs, 0),
    ...mergeCounts(slots),
    timeline: mergeSlotTimelines(slots),
    ...(slots.some((o) => o.journey !== undefined) ? { journey: mergeJourneyOutcomes(slots.flatMap((o) => (o.journey === undefined ? [] : [o.journey]))) } : {}),
    aborted: slots.some((o) => o.aborted)
  }
}

/**
 * An arm's timeline, one row per second of its own measured time (its slots laid end to end). A
 * slot of at most a second (one row of its own) falls whole into the second it starts in, and
 * that second's percentiles come from its slots' histograms merged. A longer slot, a duet's whole
 * window above all, keeps its driver's per-second rows, each moved to where the slot started:
 * read as one row, a 4 s duet's timeline showed four seconds of requests as one second's rate.
 * Where rows of long slots share a second with others (uneven slots), its p50 is the rows'
 * request-weighted mean and its p99 their highest.
 */
function mergeSlotTimelines(slots: readonly DriverOutcome[]): TimelineRow[] {
  const bySecond = new Map<number, { whole: DriverOutcome[]; rows: TimelineRow[] }>()
  const at = (second: number): { whole: DriverOutcome[]; rows: TimelineRow[] } => {
    const bucket = bySecond.get(second) ?? { whole: [], rows: [] }
    bySecond.set(second, bucket)
    return bucket
  }
  let armMs = 0
  for (const o of slots) {
    if (o.timeline.length <= 1) at(Math.floor(armMs / 1000)).whole.push(o)
    else for (const row of o.timeline) at(Math.floor((armMs + row.second * 1000) / 1000)).rows.push(row)
    armMs += o.durationMs
  }
  return [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, { whole, rows }]) => {
      const requests = whole.reduce((a, o) => a + o.requests, 0) + rows.reduce((a, r) => a + r.requests, 0)
      const errors = whole.reduce((a, o) => a + o.errors, 0) + rows.reduce((a, r) => a + r.errors, 0)
      if (rows.length === 0) {
        const merged = summarizeEncoded(mergeEncoded(whole.map((o) => o.histogram)))
        return { second, requests, errors, p50Us: merged.p50, p99Us: merged.p99 }
      }
      const parts = [...rows, ...whole.map((o) => ({ requests: o.requests, ...percentilesOf(o) }))]
      if (parts.length === 1) return { second, requests, errors, p50Us: rows[0]?.p50Us ?? 0, p99Us: rows[0]?.p99Us ?? 0 }
      const weighted = parts.reduce((a, p) => a + p.p50Us * p.requests, 0)
      return { second, requests, errors, p50Us: requests === 0 ? 0 : Math.round(weighted / requests), p99Us: Math.max(...parts.map((p) => p.p99Us)) }
    })
}

function percentilesOf(o: DriverOutcome): { p50Us: number; p99Us: number } {
  const s = summarizeEncoded(o.histogram)
  return { p50Us: s.p50, p99Us: s.p99 }
}

/**
 * Closed model: stop once the scenario's seeded items are spent, less what is still sent after
 * the count is reached: the requests in flight (connections × pipelining) and those sent before
 * the driver notices the end (about STOP_SLACK_MS at the expected rate).
 */
function capRequests(load: LoadSettings, capacity: number | null, rateRps: number, slackMs = STOP_SLACK_MS): number | null {
  if (capacity === null || load.model !== 'closed') return load.maxRequests
  const cap = Math.max(1, capacity - load.connections * load.pipelining - Math.ceil((rateRps * slackMs) / 1000))
  return load.maxRequests === null ? cap : Math.min(load.maxRequests, cap)
}

function pct(share: number): string {
  return `${(share * 100).toFixed(2)}%`
}

function describeErrors(o: DriverOutcome): string {
  const parts = Object.entries(o.errorsByKind.byStatus).map(([s, n]) => `${n}× status ${s}`)
  if (o.errorsByKind.timeouts > 0) parts.push(`${o.errorsByKind.timeouts} timeouts`)
  if (o.errorsByKind.resets > 0) parts.push(`${o.errorsByKind.resets} resets`)
  if (o.errorsByKind.other > 0) parts.push(`${o.errorsByKind.other} other`)
  return parts.join(', ') || 'unknown'
}

export type { RequestSpec }

export { fetchTargetConfig, startTargetHandle } from './target-handle.ts'
