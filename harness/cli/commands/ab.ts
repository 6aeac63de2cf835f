// `authbench ab --a <spec> --b <spec>`: the pull-request gate. Runs arms A and B alternately on
// this machine in randomised ABBA/BAAB blocks (harness/engine/plan.ts), starting a fresh target for
// every trial, so that drift of the machine and luck of a process's start cancel within pairs.
// Writes result.json (kind 'ab', trials carrying arm and pair), compares the arms with paired
// statistics (compareAB) and writes the same reports as `compare`. Exit codes as `compare`:
// 0 no regression, 1 regression, 2 usage errors, bad specs or invalid data; 130 interrupted.
//
// Each trial is one single-trial Engine run: the engine already starts a target, seeds, warms up,
// measures and judges validity, and composing it keeps this command free of a second copy of that.
import path from 'node:path'
import { planAB } from '../../engine/plan.ts'
import type { ABStep, Arm } from '../../engine/plan.ts'
import { prepareArms, releaseAll, resolveArmSpec, worktreeDirty } from '../ab-spec.ts'
import type { PreparedArm } from '../ab-spec.ts'
import { compareAB } from '../../reporters/headline.ts'
import { CALIBRATION_DEFAULT, DUET, Engine } from '../../engine/engine.ts'
import type { TargetHandle } from '../../engine/engine.ts'
import { commandPlanDefaults, printWarnings, wireTarget } from './engine-wiring.ts'
import { BadOptionError, EXIT, RefBuildError, describeError } from '../../errors.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { renderJson } from '../../reporters/json.ts'
import { renderMarkdown } from '../../reporters/markdown.ts'
import { assertWritableDir, resultDirName, writeResult } from '../../result-io.ts'
import { formatP, minPairsFor, signedRankMinP } from '../../stats/sensitivity.ts'
import { minFirstPairs } from '../../stats/sequential.ts'
import { budgetNotes, runBudgeted } from './ab-budget.ts'
import { applySlos } from '../../stats/slo.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import type { TargetProfiler } from '../../profile/profiler.ts'
import { createProfiler, finishProfiling, parseProfileOptions } from '../../profile/session.ts'
import type { ProfileOutput, RawProfileOptions } from '../../profile/session.ts'
import type { Comparison, CompareSettings, RunResult, TrialResult } from '../../types.ts'
import { buildRunResult } from '../../engine/run-result.ts'
import type { TargetDefinition } from '../../api.ts'
import { loadConfig, targetByName } from '../../config.ts'
import { resolveCompareSettings } from '../../stats/verdict.ts'
import { appendStepSummary, writeReports } from './compare.ts'
import type { CommandIo } from '../io.ts'
import { driverFor } from '../../engine/drivers/index.ts'
import { parseDurationMs, parseEnvAssignments, parseIntOption, parseRunOptions } from './run-options.ts'
import type { RawInterleavedOptions, RunOptions } from './run-options.ts'
import { describeTrial } from '../../reporters/print-summary.ts'

/**
 * Six pairs is the floor: with requireSignificance the exact Wilcoxon signed-rank test cannot
 * reach p < 0.05 with fewer (its smallest p is 2/2^n). Each pair runs both arms as a duet: both
 * targets under load at the same moments for 4 s, after each has warmed up until its cost per
 * request stopped falling (harness/engine/warmup.ts). scripts/noise-components.ts showed what the noise
 * is on the 2-core VM: the machine's speed moves 12–21% between rounds of a few seconds and
 * 5–8% within a second, which every target measured at that moment shares, while a warm
 * process's own effect is 0–5%. Alternating 500 ms slots cancel only the slow part; measuring
 * both arms at once cancels both (per-pair SD of B/A on token 2.3% throughput and 3.3% CPU µs/req,
 * against 5.6% and 6.3% for slots; docs/gate-accuracy.md), and a pair takes one
 * arm's measured time instead of two.
 */
export const AB_DEFAULTS = Object.freeze({
  pairs: 6,
  slotMs: DUET,
  durationMs: 4_000,
  warmupMs: 1_000,
  outDir: 'reports',
  seed: 1
})

/**
 * The fewest pairs with which the exact two-sided Wilcoxon signed-rank test can reach p < alpha:
 * its smallest p-value, all pairs agreeing, is 2 / 2^n (6 pairs for alpha 0.05).
 */
export function minPairsForSignificance(alpha: number): number {
  return minPairsFor(alpha)
}

/** What commander hands over for `ab`. */
export interface RawAbOptions extends RawProfileOptions, RawInterleavedOptions {
  slo?: string[]
  maxInFlight?: string
  a?: string
  b?: string
  aEnv?: string[]
  bEnv?: string[]
  /** Pairs per scenario (each pair is one A trial and one B trial). */
  trials?: string
  rate?: string
  /** Slot length for slot-interleaved pairs, e.g. 500ms; 0 for one trial after the other. */
  slot?: string
  /** Time budget, e.g. 10m: after the first round, more pairs where the verdict is undecided. */
  budget?: string
  /** Print result.json with the comparison on stdout, and nothing else there. */
  json?: boolean
}

/** Knobs for programmatic callers (tests, scripts/gate-accuracy.ts); not on the command line. */
export interface AbRuntime {
  /** Pin the target and this process to separate cores when possible. Default true. */
  pin?: boolean
  /** Read for GITHUB_STEP_SUMMARY. Default process.env. */
  env?: NodeJS.ProcessEnv
  /** Overrides the config file's settings. */
  settings?: CompareSettings
}

export interface AbOutcome {
  exitCode: number
  result: RunResult | null
  comparison: Comparison | null
  resultPath: string | null
}

export interface InterleavedRun {
  /** The target both arms start (each with its arm's env, from its arm's folder). */
  target: TargetDefinition
  arms: Readonly<Record<Arm, PreparedArm>>
  scenarios: RunOptions['scenarios']
  pairs: number
  seed: number
  label: string
  calibration: boolean
  pin: boolean
  errorRateThreshold: number
  lateShareThreshold: number
  maxPoolSize: number
  progress: boolean
  /**
   * Slot length in ms for slot-interleaved pairs (closed model): both arms' targets run side by
   * side and the measured time alternates between them in slots of this length. 0 runs the two
   * trials of a pair one after the other, each on its own target.
   */
  slotMs: number
  /** --profile: the profiler and the arms it profiles. */
  profile?: { profiler: TargetProfiler; arms: readonly Arm[] } | null
}

function safeLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'ab'
}

/** What the steps of an interleaved run share: the plan and the way each arm's engine is made. */
interface AbSetup {
  steps: ABStep[]
  byName: Map<string, RunOptions['scenarios'][number]>
  fingerprint: ReturnType<typeof collectFingerprint>
  createdAt: string
  slotted: boolean
  startArm: (arm: Arm, pair: number) => () => Promise<TargetHandle>
  engine: (sp: RunOptions['scenarios'][number], first: boolean, arm: Arm, pair: number) => Engine
}

/** What the steps collect, in plan order. */
interface AbCollected {
  trials: TrialResult[]
  configs: Partial<Record<Arm, Record<string, unknown> | null>>
  calibration: RunResult['calibration']
  aborted: RunResult['aborted']
  cpuPinning: RunResult['environment']['cpuPinning']
}

const INTERRUPTED: NonNullable<RunResult['aborted']> = Object.freeze({ reason: 'interrupted (SIGINT or abort)', code: 'AUTHBENCH_ERR_ABORTED' })

/** Runs the plan; never rejects for a target failure: the result's `aborted` says what happened. */
export async function runInterleaved(run: InterleavedRun, io: CommandIo): Promise<RunResult> {
  const generatorCpus = run.pin ? await pinGenerator() : null
  const collected: AbCollected = { trials: [], configs: {}, calibration: null, aborted: null, cpuPinning: { target: null, generator: generatorCpus } }
  const setup = setUpArms(run, io, generatorCpus, collected)
  if (setup.slotted) await runSlotPairs(run, setup, collected, io)
  else await runTrialsInTurn(run, setup, collected, io)
  return assembleAbResult(run, setup, collected)
}

/** The plan, and how each arm's target and engine start. */
function setUpArms(run: InterleavedRun, io: CommandIo, generatorCpus: string | null, collected: AbCollected): AbSetup {
  const steps = planAB({ scenarios: run.scenarios.map((s) => s.scenario.name), pairs: run.pairs, seed: run.seed })
  const model = run.scenarios[0]?.load.model ?? 'closed'
  const fingerprint = collectFingerprint({ variant: `A=${run.arms.A.spec} B=${run.arms.B.spec}`, driver: driverFor(model).name })
  if (run.progress) io.stderr(`ab: ${steps.length} trials: A = ${run.arms.A.spec}, B = ${run.arms.B.spec}; ${run.pairs} pair(s) × ${run.scenarios.length} scenario(s), seed ${run.seed}\n`)
  const slotted = (run.slotMs > 0 || run.slotMs === DUET) && model === 'closed'
  if (run.slotMs > 0 && model !== 'closed' && run.progress) io.stderr('ab: --slot applies to the closed model only; the open-model pairs run one trial after the other\n')
  // One metrics reader for both arms: it tells their processes apart by URL.
  const profile = run.profile ?? null
  const wiring = wireTarget(run.target, profile?.profiler ?? null)
  const startArm = (arm: Arm, pair: number) => async (): Promise<TargetHandle> => {
    const options = { ...targetProcessOptions(run.target, run.arms[arm].env), cwd: run.arms[arm].cwd, pinCpus: generatorCpus === null ? null : 'auto' as const }
    return wiring.start(options, generatorCpus, profile !== null && profile.arms.includes(arm) ? { group: arm, pair } : undefined)
  }
  // One rate memory for all pairs: a pair sizes its token pools from what earlier pairs measured.
  const measuredRps = new Map<string, number>()
  const engine = (sp: RunOptions['scenarios'][number], first: boolean, arm: Arm, pair: number): Engine => {
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
    printWarnings(e, io)
    return e
  }
  return { steps, byName: new Map(run.scenarios.map((s) => [s.scenario.name, s])), fingerprint, createdAt: new Date().toISOString(), slotted, startArm, engine }
}

/**
 * Slot-interleaved (or duet) pairs: one Engine.runPair per (scenario, pair), in the plan's order;
 * the plan's first arm of the pair goes first in the pair's first slot.
 */
async function runSlotPairs(run: InterleavedRun, setup: AbSetup, collected: AbCollected, io: CommandIo): Promise<void> {
  const pairsInOrder: ABStep[][] = []
  for (const step of setup.steps) {
    const last = pairsInOrder.at(-1)
    if (last !== undefined && last[0]?.scenario === step.scenario && last[0]?.pair === step.pair) last.push(step)
    else pairsInOrder.push([step])
  }
  if (run.progress) io.stderr(run.slotMs === DUET ? 'ab: duet: both arms\' targets side by side, both under load at the same time\n' : `ab: slot-interleaved: both arms' targets side by side, ${run.slotMs} ms slots\n`)
  for (const [index, group] of pairsInOrder.entries()) {
    if (io.signal?.aborted) {
      collected.aborted = INTERRUPTED
      return
    }
    const head = group[0] as ABStep
    const sp = setup.byName.get(head.scenario) as RunOptions['scenarios'][number]
    const trialOf = (arm: Arm): number => group.find((g) => g.arm === arm)?.trial ?? 0
    const engine = setup.engine(sp, index === 0, 'A', head.pair)
    const pair = await engine.runPair({ A: setup.startArm('A', head.pair), B: setup.startArm('B', head.pair) }, sp, { A: trialOf('A'), B: trialOf('B') }, head.arm, run.slotMs, io.signal)
    collected.cpuPinning = pair.cpuPinning
    if (index === 0) collected.calibration = pair.calibration
    // In the plan's order, so trial numbers run in order in the result.
    for (const arm of group.map((g) => g.arm)) {
      const config = pair.configs[arm]
      if (collected.configs[arm] === undefined && config !== undefined && config !== null) collected.configs[arm] = config
      const trial = pair.trials[arm]
      if (trial === undefined) continue
      collected.trials.push({ ...trial, trial: trialOf(arm), arm, pair: head.pair })
      if (run.progress) io.stderr(`  [${index + 1}/${pairsInOrder.length}] ${head.scenario} pair ${head.pair + 1} ${arm} (${run.arms[arm].spec}): ${describeTrial(trial)}\n`)
    }
    if (pair.aborted !== null) {
      collected.aborted = { code: pair.aborted.code, reason: `${head.scenario} pair ${head.pair + 1}: ${pair.aborted.reason}` }
      return
    }
  }
}

/** One trial after the other (open model, or --slot 0), each a single-trial Engine run on its own target. */
async function runTrialsInTurn(run: InterleavedRun, setup: AbSetup, collected: AbCollected, io: CommandIo): Promise<void> {
  for (const step of setup.steps) {
    if (io.signal?.aborted) {
      collected.aborted = INTERRUPTED
      return
    }
    const arm = run.arms[step.arm]
    const sp = setup.byName.get(step.scenario) as RunOptions['scenarios'][number]
    const one = await setup.engine(sp, step.index === 0, step.arm, step.pair).run(io.signal)
    collected.cpuPinning = one.environment.cpuPinning
    if (step.index === 0) collected.calibration = one.calibration
    if (collected.configs[step.arm] === undefined && one.environment.targetConfig !== null) collected.configs[step.arm] = one.environment.targetConfig
    const trial = one.trials[0]
    if (trial !== undefined) {
      collected.trials.push({ ...trial, trial: step.trial, arm: step.arm, pair: step.pair })
      if (run.progress) io.stderr(`${describeStep(step, setup.steps.length, arm.spec)}: ${describeTrial(trial)}\n`)
    }
    if (one.aborted !== null) {
      collected.aborted = { code: one.aborted.code, reason: `arm ${step.arm} (${arm.spec}), ${step.scenario} pair ${step.pair + 1}: ${one.aborted.reason}` }
      return
    }
  }
}

/** The A/B result: both arms' trials tagged with arm and pair, each arm's spec and reported config. */
function assembleAbResult(run: InterleavedRun, setup: AbSetup, collected: AbCollected): RunResult {
  const { configs, trials } = collected
  const armInfo = (a: Arm): Record<string, unknown> => {
    const p = run.arms[a]
    return { spec: p.spec, kind: p.kind, commit: p.commit, env: p.env, config: configs[a] ?? null }
  }
  return buildRunResult({
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
}

function describeStep(step: ABStep, total: number, spec: string): string {
  return `  [${step.index + 1}/${total}] ${step.scenario} pair ${step.pair + 1} ${step.arm} (${spec})`
}


/** Parses, resolves specs, runs, compares and reports; the outcome carries the exit code. */
export async function runAb(raw: RawAbOptions, io: CommandIo, runtime: AbRuntime = {}): Promise<AbOutcome> {
  const fail = (code: number): AbOutcome => ({ exitCode: code, result: null, comparison: null, resultPath: null })
  let prepared: PreparedArm[] = []
  let stage = 'options'
  try {
    if (raw.a === undefined || raw.b === undefined) throw new BadOptionError('ab needs both --a <spec> and --b <spec> (a variant, a JSON file of env overrides, or a git ref)')
    await assertWritableDir(raw.out ?? AB_DEFAULTS.outDir)
    stage = 'config'
    const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
    const target = targetByName(config, raw.target)
    stage = 'options'
    const pairs = raw.trials === undefined ? AB_DEFAULTS.pairs : parseIntOption('--trials', raw.trials, 1, 1_000)
    const seed = raw.seed === undefined ? AB_DEFAULTS.seed : parseIntOption('--seed', raw.seed, 0, 2 ** 31 - 1)
    const label = raw.label ?? safeLabel(`ab-${raw.a}-vs-${raw.b}`)
    const slotMs = raw.slot === undefined ? AB_DEFAULTS.slotMs : raw.slot.trim() === 'duet' ? DUET : parseDurationMs('--slot', raw.slot, true)
    const profiling = parseProfileOptions(raw)
    const profiler = profiling === null ? null : createProfiler(profiling, (m) => io.stderr(`warning: ${m}\n`))
    if (slotMs > 0 && slotMs < 100) throw new BadOptionError(`--slot ${raw.slot} is too short: each slot opens its connections afresh, so slots under 100ms measure connection set-up (use 0 to turn slots off)`)
    const opts = parseRunOptions({
      scenario: raw.scenario,
      duration: raw.duration,
      warmup: raw.warmup,
      connections: raw.connections,
      rate: raw.rate,
      maxInFlight: raw.maxInFlight,
      slo: raw.slo,
      scenarioParam: raw.scenarioParam,
      errorThreshold: raw.errorThreshold,
      maxPool: raw.maxPool,
      label
    }, config, { durationMs: AB_DEFAULTS.durationMs, warmupMs: AB_DEFAULTS.warmupMs })
    stage = 'config'
    const settings = runtime.settings ?? resolveCompareSettings(config.gate, config.file ?? 'settings', 'paired')
    // Refused before any load: a gate that cannot fail would pass a gross regression with exit 0.
    if (pairs < settings.minTrials) throw new BadOptionError(`--trials ${pairs} is below the ${settings.minTrials} pairs the comparison needs (minTrials): use --trials ${settings.minTrials} or more`)
    const minPairs = minPairsForSignificance(1 - settings.confidence)
    if (settings.requireSignificance && pairs < minPairs) {
      throw new BadOptionError(
        `--trials ${pairs} is too few: with fewer than ${minPairs} pairs the exact signed-rank test cannot reach p < ${formatP(1 - settings.confidence)} (its smallest p is ${formatP(signedRankMinP(pairs))}), so no regression could ever be called; use --trials ${minPairs} or more`
      )
    }
    const budgetMs = raw.budget === undefined ? null : parseDurationMs('--budget', raw.budget, false)
    // Later budget rounds number their pairs afresh, so their profiles could not be told from the first round's.
    if (budgetMs !== null && profiler !== null) throw new BadOptionError('--profile cannot be combined with --budget: run a fixed number of pairs (--trials) to profile')
    if (budgetMs !== null && settings.requireSignificance && pairs < minFirstPairs(1 - settings.confidence)) {
      throw new BadOptionError(`--budget: the first round needs at least ${minFirstPairs(1 - settings.confidence)} pairs for its sequential look to be able to call a regression; use --trials ${minFirstPairs(1 - settings.confidence)} or more`)
    }
    stage = 'specs'
    const specA = await resolveArmSpec('--a', raw.a, parseEnvAssignments('--a-env', raw.aEnv), target)
    const specB = await resolveArmSpec('--b', raw.b, parseEnvAssignments('--b-env', raw.bEnv), target)
    if ([specA, specB].some((s) => s.kind === 'git') && (await worktreeDirty(target.start.cwd ?? config.dir))) {
      io.stderr('warning: the working tree has uncommitted changes; git-ref arms build their commits only, without them\n')
    }
    stage = 'build'
    prepared = await prepareArms(
      [specA, specB],
      { targetCwd: target.start.cwd ?? config.dir, install: target.install, build: target.build, ...(io.signal === undefined ? {} : { signal: io.signal }) },
      (line) => io.stderr(`${line}\n`)
    )
    const [armA, armB] = prepared as [PreparedArm, PreparedArm]

    stage = 'run'
    const interleaved: InterleavedRun = {
      target,
      arms: { A: armA, B: armB },
      scenarios: opts.scenarios,
      pairs,
      seed,
      label: opts.label,
      calibration: raw.calibration !== false,
      pin: runtime.pin !== false,
      errorRateThreshold: opts.errorRateThreshold,
      lateShareThreshold: opts.lateShareThreshold,
      maxPoolSize: opts.maxPoolSize,
      progress: raw.progress !== false,
      slotMs,
      profile: profiler === null || profiling === null ? null : { profiler, arms: profiling.arms }
    }
    const budgeted = budgetMs === null ? null : await runBudgeted(interleaved, budgetMs, settings, io)
    const result = budgeted?.result ?? (await runInterleaved(interleaved, io))
    stage = 'result'
    const dir = path.resolve(raw.out ?? AB_DEFAULTS.outDir, resultDirName(new Date(result.createdAt), opts.label))
    const file = path.join(dir, 'result.json')
    let profiled: ProfileOutput | null = null
    if (profiler !== null) {
      stage = 'profile'
      profiled = await finishProfiling(result, profiler, ['A', 'B'], dir)
      stage = 'result'
    }
    for (const p of await writeResult(file, result)) io.stderr(`warning: result does not match the schema: ${p}\n`)
    if (result.trials.length === 0) {
      io.stderr(`authbench ab: no trial completed${result.aborted === null ? '' : ` (${result.aborted.code}: ${result.aborted.reason})`}; result written to ${file}\n`)
      return { exitCode: result.aborted?.code === 'AUTHBENCH_ERR_ABORTED' ? EXIT.INTERRUPTED : EXIT.USAGE, result, comparison: null, resultPath: file }
    }
    stage = 'comparison'
    const comparison = compareAB(result, { settings, currentPath: file, ...(budgeted === null ? {} : { scenarioSettings: budgeted.scenarioSettings }) })
    if (budgeted !== null) budgetNotes(budgeted, comparison)
    // Objectives are checked on the candidate's (arm B's) merged figures, which the summary holds.
    const slosMet = applySlos(opts.slos, result.summary)
    stage = 'reports'
    const extra = profiled === null ? {} : { markdown: profiled.markdown, html: profiled.html }
    const written = await writeReports(result, comparison, dir, extra)
    await appendStepSummary(`${renderMarkdown(result, comparison)}${profiled === null ? '' : `\n${profiled.markdown}`}`, runtime.env ?? process.env)
    const say = raw.json === true ? io.stderr : io.stdout
    say(`${comparison.headline}\n`)
    say(`reports: ${written.markdown}, ${written.html}, ${written.junit}, ${written.json}\n`)
    if (result.profile !== undefined) say(`profiles: ${result.profile.files.map((f) => path.join(dir, 'profiles', f)).join(', ') || 'none'}\n`)
    if (raw.json === true) io.stdout(renderJson(result, comparison))
    let exitCode: number = comparison.exitCode
    if (!slosMet) {
      say(`SLO failed on arm B: ${result.summary.flatMap((s) => (s.slo ?? []).filter((o) => !o.passed).map((o) => `${s.scenario} ${o.expression}`)).join(', ')}\n`)
      if (exitCode === EXIT.OK) exitCode = EXIT.REGRESSION
    }
    if (result.aborted !== null) {
      io.stderr(`ab stopped early (${result.aborted.code}): ${result.aborted.reason}\n`)
      // Incomplete data never passes the gate: 2 unless a regression was already certain.
      if (result.aborted.code === 'AUTHBENCH_ERR_ABORTED') exitCode = EXIT.INTERRUPTED
      else if (exitCode === EXIT.OK) exitCode = EXIT.USAGE
    }
    return { exitCode, result, comparison, resultPath: written.json }
  } catch (error) {
    // 2 even for an unexpected failure: 1 would read as "regression" in CI.
    const { message } = describeError(error, EXIT.USAGE)
    io.stderr(`authbench ab: ${stage}: ${message}\n`)
    return fail(error instanceof RefBuildError && error.interrupted ? EXIT.INTERRUPTED : EXIT.USAGE)
  } finally {
    await releaseAll(prepared)
  }
}

/** The CLI's entry: the exit code only. */
export async function abCommand(raw: RawAbOptions, io: CommandIo, runtime: AbRuntime = {}): Promise<number> {
  return (await runAb(raw, io, runtime)).exitCode
}
