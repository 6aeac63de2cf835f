// The interleaved A/B run behind `ab`: arms A and B alternate on this machine in randomised
// ABBA/BAAB blocks (harness/engine/plan.ts), with a fresh target for every pair (duet or slots) or
// every trial (one after the other), so that drift of the machine and the luck of a process's start
// cancel within pairs. `runBudgeted` adds rounds of pairs where the verdict is undecided, judged by
// the group-sequential rule of harness/stats/sequential.ts.
//
// Each pair or trial is an Engine run: the engine already starts a target, seeds, warms up,
// measures and judges validity, and composing it keeps this file free of a second copy of that.
// Progress goes out as events (AbEvents); the CLI prints them.
import { EventEmitter } from 'node:events'
import type { TargetDefinition } from '../api.ts'
import { judgeAB } from '../stats/compare.ts'
import { formatP } from '../stats/sensitivity.ts'
import { SEQUENTIAL_DESIGN, SEQUENTIAL_METHOD, isDecided, lookAlpha } from '../stats/sequential.ts'
import { summarizeWithSteps } from '../stats/steps.ts'
import type { AbArmInfo, CompareSettings, Judgement, RunResult, TrialResult } from '../types.ts'
import { driverNameOf } from './drivers/index.ts'
import { CALIBRATION_DEFAULT, DUET, Engine, type ScenarioPlan } from './engine.ts'
import type { TargetHandle } from './engine-types.ts'
import { collectFingerprint } from './fingerprint.ts'
import { planAB, type ABStep, type Arm } from './plan.ts'
import { buildRunResult } from './run-result.ts'
import { pinGenerator, targetProcessOptions } from './target-process.ts'
import { commandPlanDefaults, wireTarget, type ProfilingStarter } from './wiring.ts'

/** What one arm runs: the target's env on top of its own, started from `cwd`. */
export interface ArmTarget {
  /** As given on the command line. */
  spec: string
  kind: string
  /** A git ref's commit, when the arm is one. */
  commit: string | null
  env: Record<string, string>
  cwd: string
}

export interface InterleavedRun {
  /** The target both arms start (each with its arm's env, from its arm's folder). */
  target: TargetDefinition
  arms: Readonly<Record<Arm, ArmTarget>>
  scenarios: readonly ScenarioPlan[]
  pairs: number
  seed: number
  label: string
  calibration: boolean
  pin: boolean
  errorRateThreshold: number
  lateShareThreshold: number
  maxPoolSize: number
  /**
   * Slot length in ms for slot-interleaved pairs (closed model), or DUET: both arms' targets run
   * side by side and are measured at the same time, or in alternating slots of this length. 0
   * runs the two trials of a pair one after the other, each on its own target.
   */
  slotMs: number
  /** --profile: the profiler and the arms it profiles. */
  profile?: { profiler: ProfilingStarter; arms: readonly Arm[] } | null
}

/** A trial done, with where it stands in the plan. */
export interface AbTrialEvent {
  index: number
  total: number
  scenario: string
  pair: number
  arm: Arm
  spec: string
  trial: TrialResult
}

/** A budgeted round's look at a scenario. */
export interface AbLookEvent {
  scenario: string
  look: number
  pairs: number
  alpha: number
  spentMs: number
  budgetMs: number
}

/** Event names and payloads, for subscribers. */
export interface AbEvents {
  /** One line about what is about to run (the plan, the pairing mode, the budget). */
  note: string
  trial: AbTrialEvent
  look: AbLookEvent
  warning: string
}

export interface ScenarioLook {
  look: number
  pairs: number
  /** The level of the scenario's last look. */
  alpha: number
}

export interface BudgetedRun {
  result: RunResult
  /** Per scenario, the settings its last look was judged at (judgeAB's scenarioSettings). */
  scenarioSettings: Record<string, CompareSettings>
  looks: Record<string, ScenarioLook>
  spentMs: number
  budgetMs: number
}

/** How much longer than its last measured seconds per pair a round is assumed to take. */
export const ROUND_ESTIMATE_HEADROOM = 1.25

const INTERRUPTED: NonNullable<RunResult['aborted']> = Object.freeze({ reason: 'interrupted (SIGINT or abort)', code: 'AUTHBENCH_ERR_ABORTED' })

/** What the steps of one interleaved run share: the plan and the way each arm's engine is made. */
interface AbSetup {
  steps: ABStep[]
  byName: Map<string, ScenarioPlan>
  fingerprint: ReturnType<typeof collectFingerprint>
  createdAt: string
  startArm: (arm: Arm, pair: number) => () => Promise<TargetHandle>
  engine: (sp: ScenarioPlan, first: boolean, arm: Arm, pair: number) => Engine
}

/** What the steps collect, in plan order. */
interface AbCollected {
  trials: TrialResult[]
  configs: Partial<Record<Arm, Record<string, unknown> | null>>
  calibration: RunResult['calibration']
  aborted: RunResult['aborted']
  cpuPinning: RunResult['environment']['cpuPinning']
}

export function describeMs(ms: number): string {
  const s = Math.round(ms / 1000)
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}

/** Runs interleaved A/B plans and tells subscribers how they go (AbEvents). */
export class AbOrchestrator extends EventEmitter {
  override emit<K extends keyof AbEvents>(event: K, payload: AbEvents[K]): boolean {
    return super.emit(event, payload)
  }

  override on<K extends keyof AbEvents>(event: K, listener: (payload: AbEvents[K]) => void): this {
    return super.on(event, listener as (payload: unknown) => void)
  }

  /** Runs the plan; never rejects for a target failure: the result's `aborted` says what happened. */
  async run(run: InterleavedRun, signal?: AbortSignal): Promise<RunResult> {
    const generatorCpus = run.pin ? await pinGenerator() : null
    const collected: AbCollected = { trials: [], configs: {}, calibration: null, aborted: null, cpuPinning: { target: null, generator: generatorCpus } }
    const setup = this.#setUp(run, generatorCpus, collected)
    const model = run.scenarios[0]?.load.model ?? 'closed'
    if ((run.slotMs > 0 || run.slotMs === DUET) && model === 'closed') await this.#slotPairs(run, setup, collected, signal)
    else await this.#trialsInTurn(run, setup, collected, signal)
    return assembleAbResult(run, setup, collected)
  }

  /**
   * A first round of `run.pairs` pairs for every scenario, then the rest of the budget on the
   * scenarios whose verdict is still undecided, SEQUENTIAL_DESIGN.stepPairs pairs at a time. A
   * scenario stops when it is decided; the run stops when none is undecided or no further round
   * fits. A round starts only when its estimate (the scenario's own last seconds per pair, or the
   * first round's average, times ROUND_ESTIMATE_HEADROOM) still fits. `now` is for tests.
   */
  async runBudgeted(run: InterleavedRun, budgetMs: number, settings: CompareSettings, signal?: AbortSignal, now: () => number = Date.now): Promise<BudgetedRun> {
    const alpha = 1 - settings.confidence
    const startedAt = now()
    const names = run.scenarios.map((s) => s.scenario.name)
    const looks: Record<string, ScenarioLook> = Object.fromEntries(names.map((n) => [n, { look: 1, pairs: run.pairs, alpha: lookAlpha(alpha, 1) }]))
    const settingsOf = (): Record<string, CompareSettings> => Object.fromEntries(names.map((n) => [n, { ...settings, confidence: 1 - (looks[n] as ScenarioLook).alpha }]))

    this.emit(
      'note',
      `ab --budget ${describeMs(budgetMs)}: first round, ${run.pairs} pair(s) per scenario; then ${SEQUENTIAL_DESIGN.stepPairs} more at a time where undecided (${SEQUENTIAL_METHOD})`
    )
    const result = await this.run(run, signal)
    const firstMs = now() - startedAt
    const perPairMs = new Map(names.map((n) => [n, firstMs / Math.max(1, run.pairs * names.length)]))
    if (firstMs > budgetMs) this.emit('warning', `the first round alone took ${describeMs(firstMs)}, past the --budget of ${describeMs(budgetMs)}: no further round`)

    let round = 0
    while (result.aborted === null && signal?.aborted !== true) {
      const undecided = undecidedScenarios(judgeAB(result, { settings, scenarioSettings: settingsOf() }))
      if (undecided.length === 0) break
      let ranAny = false
      for (const name of undecided) {
        // A quarter's headroom: a pair's time varies with process start-up and with whatever else the
        // machine runs, and the budget is a ceiling the user plans CI around, not a target.
        const estimateMs = (perPairMs.get(name) as number) * SEQUENTIAL_DESIGN.stepPairs * ROUND_ESTIMATE_HEADROOM
        if (now() - startedAt + estimateMs > budgetMs) continue
        const sp = run.scenarios.find((s) => s.scenario.name === name) as ScenarioPlan
        round++
        const t0 = now()
        const more = await this.run({ ...run, scenarios: [sp], pairs: SEQUENTIAL_DESIGN.stepPairs, seed: run.seed + 7_919 * round, calibration: false }, signal)
        perPairMs.set(name, (now() - t0) / SEQUENTIAL_DESIGN.stepPairs)
        appendRound(result, more)
        const look = (looks[name] as ScenarioLook).look + 1
        looks[name] = { look, pairs: run.pairs + (look - 1) * SEQUENTIAL_DESIGN.stepPairs, alpha: lookAlpha(alpha, look) }
        this.emit('look', { scenario: name, ...(looks[name] as ScenarioLook), spentMs: now() - startedAt, budgetMs })
        ranAny = true
        if (result.aborted !== null) break
      }
      if (!ranAny) break
    }
    return { result, scenarioSettings: settingsOf(), looks, spentMs: now() - startedAt, budgetMs }
  }

  /** The plan, and how each arm's target and engine start. */
  #setUp(run: InterleavedRun, generatorCpus: string | null, collected: AbCollected): AbSetup {
    const steps = planAB({ scenarios: run.scenarios.map((s) => s.scenario.name), pairs: run.pairs, seed: run.seed })
    const model = run.scenarios[0]?.load.model ?? 'closed'
    const fingerprint = collectFingerprint({ variant: `A=${run.arms.A.spec} B=${run.arms.B.spec}`, driver: driverNameOf(run.scenarios, model) })
    this.emit('note', `ab: ${steps.length} trials: A = ${run.arms.A.spec}, B = ${run.arms.B.spec}; ${run.pairs} pair(s) × ${run.scenarios.length} scenario(s), seed ${run.seed}`)
    if (run.slotMs > 0 && model !== 'closed') this.emit('note', 'ab: --slot applies to the closed model only; the open-model pairs run one trial after the other')
    // One metrics reader for both arms: it tells their processes apart by URL.
    const profile = run.profile ?? null
    const wiring = wireTarget(run.target, profile?.profiler ?? null)
    const startArm = (arm: Arm, pair: number) => async (): Promise<TargetHandle> => {
      const options = { ...targetProcessOptions(run.target, run.arms[arm].env), cwd: run.arms[arm].cwd, pinCpus: generatorCpus === null ? null : ('auto' as const) }
      return wiring.start(options, generatorCpus, profile !== null && profile.arms.includes(arm) ? { group: arm, pair } : undefined)
    }
    // One rate memory for all pairs: a pair sizes its seeded pools from what earlier pairs measured.
    const measuredRps = new Map<string, number>()
    const engine = (sp: ScenarioPlan, first: boolean, arm: Arm, pair: number): Engine => {
      const e = new Engine(
        {
          label: run.label,
          scenarios: [sp],
          trials: 1,
          restartPerTrial: false,
          errorRateThreshold: run.errorRateThreshold,
          lateShareThreshold: run.lateShareThreshold,
          // Once, on the first trial's target: a reference for cross-machine trends, not for the verdict.
          calibration: run.calibration && first ? CALIBRATION_DEFAULT : null,
          maxPoolSize: run.maxPoolSize,
          ...commandPlanDefaults(run.target),
          fingerprint: { ...fingerprint, cpuPinning: collected.cpuPinning }
        },
        wiring.deps({ start: startArm(arm, pair) }, { measuredRps })
      )
      e.on('warning', (w) => this.emit('warning', w.message))
      return e
    }
    return { steps, byName: new Map(run.scenarios.map((s) => [s.scenario.name, s])), fingerprint, createdAt: new Date().toISOString(), startArm, engine }
  }

  /**
   * Slot-interleaved (or duet) pairs: one Engine.runPair per (scenario, pair), in the plan's order;
   * the plan's first arm of the pair goes first in the pair's first slot.
   */
  async #slotPairs(run: InterleavedRun, setup: AbSetup, collected: AbCollected, signal: AbortSignal | undefined): Promise<void> {
    const pairsInOrder = groupPairs(setup.steps)
    this.emit(
      'note',
      run.slotMs === DUET
        ? "ab: duet: both arms' targets side by side, both under load at the same time"
        : `ab: slot-interleaved: both arms' targets side by side, ${run.slotMs} ms slots`
    )
    for (const [index, group] of pairsInOrder.entries()) {
      if (signal?.aborted === true) {
        collected.aborted = INTERRUPTED
        return
      }
      const head = group[0] as ABStep
      const sp = setup.byName.get(head.scenario) as ScenarioPlan
      const trialOf = (arm: Arm): number => group.find((g) => g.arm === arm)?.trial ?? 0
      const engine = setup.engine(sp, index === 0, 'A', head.pair)
      const pair = await engine.runPair(
        { A: setup.startArm('A', head.pair), B: setup.startArm('B', head.pair) },
        sp,
        { A: trialOf('A'), B: trialOf('B') },
        head.arm,
        run.slotMs,
        signal
      )
      collected.cpuPinning = pair.cpuPinning
      if (index === 0) collected.calibration = pair.calibration
      // In the plan's order, so trial numbers run in order in the result.
      for (const arm of group.map((g) => g.arm)) {
        const config = pair.configs[arm]
        if (collected.configs[arm] === undefined && config !== undefined && config !== null) collected.configs[arm] = config
        const trial = pair.trials[arm]
        if (trial === undefined) continue
        collected.trials.push({ ...trial, trial: trialOf(arm), arm, pair: head.pair })
        this.emit('trial', { index, total: pairsInOrder.length, scenario: head.scenario, pair: head.pair, arm, spec: run.arms[arm].spec, trial })
      }
      if (pair.aborted !== null) {
        collected.aborted = { code: pair.aborted.code, reason: `${head.scenario} pair ${head.pair + 1}: ${pair.aborted.reason}` }
        return
      }
    }
  }

  /** One trial after the other (open model, or --slot 0), each a single-trial Engine run on its own target. */
  async #trialsInTurn(run: InterleavedRun, setup: AbSetup, collected: AbCollected, signal: AbortSignal | undefined): Promise<void> {
    for (const step of setup.steps) {
      if (signal?.aborted === true) {
        collected.aborted = INTERRUPTED
        return
      }
      const arm = run.arms[step.arm]
      const sp = setup.byName.get(step.scenario) as ScenarioPlan
      const one = await setup.engine(sp, step.index === 0, step.arm, step.pair).run(signal)
      collected.cpuPinning = one.environment.cpuPinning
      if (step.index === 0) collected.calibration = one.calibration
      if (collected.configs[step.arm] === undefined && one.environment.targetConfig !== null) collected.configs[step.arm] = one.environment.targetConfig
      const trial = one.trials[0]
      if (trial !== undefined) {
        collected.trials.push({ ...trial, trial: step.trial, arm: step.arm, pair: step.pair })
        this.emit('trial', { index: step.index, total: setup.steps.length, scenario: step.scenario, pair: step.pair, arm: step.arm, spec: arm.spec, trial })
      }
      if (one.aborted !== null) {
        collected.aborted = { code: one.aborted.code, reason: `arm ${step.arm} (${arm.spec}), ${step.scenario} pair ${step.pair + 1}: ${one.aborted.reason}` }
        return
      }
    }
  }
}

/** The plan's steps grouped into pairs (both arms of one scenario and pair), in order. */
function groupPairs(steps: readonly ABStep[]): ABStep[][] {
  const pairs: ABStep[][] = []
  for (const step of steps) {
    const last = pairs.at(-1)
    if (last !== undefined && last[0]?.scenario === step.scenario && last[0]?.pair === step.pair) last.push(step)
    else pairs.push([step])
  }
  return pairs
}

/** The scenarios with a gated metric whose verdict is still open. */
function undecidedScenarios(judgement: Judgement): string[] {
  // A journey's step that is undecided needs more pairs of its journey.
  return [...new Set(judgement.scenarios.filter((s) => !isDecided(s.metrics.filter((m) => m.gated).map((m) => m.verdict))).map((s) => s.part?.scenario ?? s.scenario))]
}

/** The A/B result: both arms' trials tagged with arm and pair, each arm's spec and reported config. */
function assembleAbResult(run: InterleavedRun, setup: AbSetup, collected: AbCollected): RunResult {
  const { configs, trials } = collected
  const armInfo = (a: Arm): Record<string, unknown> => {
    const p = run.arms[a]
    return { spec: p.spec, kind: p.kind, commit: p.commit, env: p.env, config: configs[a] ?? null }
  }
  const arm = (a: Arm): AbArmInfo => ({ spec: run.arms[a].spec, kind: run.arms[a].kind, commit: run.arms[a].commit ?? setup.fingerprint.gitCommit })
  const result = buildRunResult({
    kind: 'ab',
    label: run.label,
    createdAt: setup.createdAt,
    fingerprint: setup.fingerprint,
    targetConfig: { arms: { A: armInfo('A'), B: armInfo('B') } },
    cpuPinning: collected.cpuPinning,
    scenarios: run.scenarios,
    trials,
    // The summary describes arm B, the candidate; arm A's figures are in the comparison.
    summarizes: (t) => t.arm === 'B',
    calibration: collected.calibration,
    aborted: collected.aborted,
    target: run.target
  })
  // The fingerprint's commit is the checkout's, which a git arm need not be: each arm names its own.
  return { ...result, arms: { A: arm('A'), B: arm('B') } }
}

/** Appends a later round's trials, numbering its pairs and trials after the scenario's earlier ones. */
function appendRound(into: RunResult, round: RunResult): void {
  for (const scenario of round.scenarios) {
    const earlier = into.trials.filter((t) => t.scenario === scenario)
    const pairOffset = earlier.reduce((max, t) => Math.max(max, (t.pair ?? -1) + 1), 0)
    const trialOffset = earlier.length
    for (const trial of round.trials.filter((t) => t.scenario === scenario)) {
      into.trials.push({ ...trial, trial: trial.trial + trialOffset, ...(trial.pair === undefined ? {} : { pair: trial.pair + pairOffset }) } as TrialResult)
    }
  }
  into.summary = into.scenarios.map((name) =>
    summarizeWithSteps(
      name,
      into.trials.filter((t) => t.arm === 'B')
    )
  )
  if (round.aborted !== null) into.aborted = round.aborted
}

/** Notes for the report: the budget's design once, and each scenario's last look. */
export function budgetNotes(run: BudgetedRun, judgement: Judgement): void {
  judgement.notes.push(
    `--budget ${describeMs(run.budgetMs)}: ${describeMs(run.spentMs)} spent; ${SEQUENTIAL_METHOD}; each scenario is judged at the level of its last look (false alarms ≤ ${formatP(1 - judgement.settings.confidence)} per scenario × metric over all looks)`
  )
  for (const scenario of judgement.scenarios) {
    const look = run.looks[scenario.part?.scenario ?? scenario.scenario]
    if (look !== undefined)
      scenario.notes.push(`sequential: look ${look.look}, ${look.pairs} pairs, judged at level ${formatP(look.alpha)} (${formatP((1 - look.alpha) * 100)}% interval)`)
  }
}
