// `authbench phases [--store postgres --cache redis]`: the optimisation phases of seeds/001
// (presets baseline, phase1, phase2, phase3) measured against each other on this machine. Runs
// every scenario under every preset, interleaved in randomised blocks of rounds with a fresh target
// per trial (as `ab` does for two arms), so a slow spell of the machine hits every phase of a round
// alike and the per-round ratios see through it. Writes result.json (kind 'phases', trials tagged
// with `variant` and `round`), phases.md and phases.html (harness/reporters/phases.ts).
// Exit codes: 0 done, 1 a target failed (figures of the trials before it are still written),
// 2 bad options, 130 interrupted. This is a description, not a gate: no verdict sets the exit code.
import { loadavg } from 'node:os'
import path from 'node:path'
import { CALIBRATION_DEFAULT, Engine } from '../../engine/engine.ts'
import type { ScenarioPlan } from '../../engine/engine.ts'
import { commandPlanDefaults, printWarnings, wireTarget } from './engine-wiring.ts'
import { BadOptionError, EXIT, describeError, exitCodeForCode } from '../../errors.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { analysePhases, renderPhasesHtml, renderPhasesMarkdown } from '../../reporters/phases.ts'
import type { PhasesAnalysis } from '../../reporters/phases.ts'
import { assertWritableDir, resultDirName, writeFileAtomic, writeResult } from '../../result-io.ts'
import { planVariants } from '../../engine/plan.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import type { TargetDefinition } from '../../api.ts'
import { loadConfig, targetByName, variantEnv } from '../../config.ts'
import type { TargetProfiler } from '../../profile/profiler.ts'
import { createProfiler, finishProfiling, insertBeforeBodyEnd, parseProfileOptions } from '../../profile/session.ts'
import type { ProfileOutput, RawProfileOptions } from '../../profile/session.ts'
import type { CompareSettings, EnvironmentFingerprint, RunResult, TrialResult } from '../../types.ts'
import { buildRunResult } from '../../engine/run-result.ts'
import type { CommandIo } from '../io.ts'
import { parseIntOption, parseRunOptions } from './run-options.ts'
import type { RawInterleavedOptions, RunOptions } from './run-options.ts'
import { describeTrial } from '../../reporters/print-summary.ts'

/**
 * Defaults sized for this shared 2-core machine: 5 scenarios × 4 phases × 3 rounds = 60 trials of
 * ≈ (1.5 s start + 1 s warm-up + 3 s measure + setup) ≈ 7 minutes.
 */
export const PHASES_DEFAULTS = Object.freeze({
  rounds: 3,
  durationMs: 3_000,
  warmupMs: 1_000,
  outDir: 'reports',
  seed: 1,
})

/** What commander hands over for `phases`. */
export interface RawPhasesOptions extends RawProfileOptions, RawInterleavedOptions {
  /** memory (the embedded default) or postgres. */
  store?: string
  /** redis or tiered: the shared cache of the phases that have one (baseline and phase1 have none). */
  cache?: string
  /** Rounds: each runs every scenario once under every preset. */
  trials?: string
  /** false: do not pin target and generator to separate cores (commander's --no-pin). */
  pin?: boolean
}

/** Knobs for programmatic callers (tests); not on the command line. */
export interface PhasesRuntime {
  /** Where DATABASE_URL and REDIS_URL are read. Default process.env. */
  env?: NodeJS.ProcessEnv
  settings?: CompareSettings
  /** Presets to run, in order; default all four. The first is the reference unless it lacks 'baseline'. */
  presets?: readonly string[]
}

export interface PhasesOutcome {
  exitCode: number
  result: RunResult | null
  analysis: PhasesAnalysis | null
  resultPath: string | null
  markdownPath: string | null
  htmlPath: string | null
}

function redactUrl(url: string | null): string | null {
  return url === null ? null : url.replace(/\/\/([^@/]*)@/, '//***@')
}

// ---------------------------------------------------------------------------------------------
// One trial on a fresh target

export interface FreshTrialSpec {
  /** The target to start, with `env` on top of its own. */
  target: TargetDefinition
  label: string
  scenario: ScenarioPlan
  env: Record<string, string>
  cwd?: string
  errorRateThreshold: number
  lateShareThreshold: number
  maxPoolSize: number
  calibration: boolean
  /** The generator's CPU list when it was pinned; null: nothing is pinned. */
  generatorCpus: string | null
  fingerprint: Omit<EnvironmentFingerprint, 'targetConfig' | 'cpuPinning'> & { cpuPinning?: EnvironmentFingerprint['cpuPinning'] }
  /** --profile: profile this trial's target, tagged with its variant and round. */
  profile?: { profiler: TargetProfiler; group: string; pair: number }
}

/** Where the target goes when the generator is pinned (pinGenerator takes CPU 1). */
const TARGET_CPUS = '0'

/**
 * One measured trial of one scenario on a target started for it and stopped after it: a
 * single-trial Engine run, so start-up, seeding, warm-up, scraping and validity are the engine's.
 * The same composition as the loop body of `ab`'s runInterleaved, with the arm's env given here.
 */
export async function runFreshTrial(spec: FreshTrialSpec, io: CommandIo): Promise<RunResult> {
  const p = spec.profile
  const wiring = wireTarget(spec.target, p?.profiler ?? null)
  const engine = new Engine(
    {
      label: spec.label,
      scenarios: [spec.scenario],
      trials: 1,
      restartPerTrial: false,
      errorRateThreshold: spec.errorRateThreshold,
      lateShareThreshold: spec.lateShareThreshold,
      calibration: spec.calibration ? CALIBRATION_DEFAULT : null,
      maxPoolSize: spec.maxPoolSize,
      ...commandPlanDefaults(spec.target),
      fingerprint: spec.fingerprint
    },
    wiring.deps({
      start: async () => {
        const options = { ...targetProcessOptions(spec.target, spec.env), ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }), pinCpus: spec.generatorCpus === null ? null : TARGET_CPUS }
        return wiring.start(options, spec.generatorCpus, p === undefined ? undefined : { group: p.group, pair: p.pair })
      }
    })
  )
  printWarnings(engine, io)
  return engine.run(io.signal)
}

// ---------------------------------------------------------------------------------------------
// The command


/** Everything a phases run needs, resolved from the options and the config before any load. */
interface PhasesPlan {
  target: TargetDefinition
  variants: string[]
  envs: Map<string, Record<string, string>>
  targetOptions: Record<string, string>
  backendLabel: string
  opts: RunOptions
  rounds: number
  seed: number
  profiler: TargetProfiler | null
}

/** What the variant steps collect, in run order. */
interface PhasesCollected {
  trials: TrialResult[]
  configs: Map<string, Record<string, unknown>>
  cpuPinning: EnvironmentFingerprint['cpuPinning']
  calibration: RunResult['calibration']
  aborted: RunResult['aborted']
  createdAt: string
  fingerprint: ReturnType<typeof collectFingerprint>
  loadAverage: { start: number[]; end: number[] }
}

/** Parses, runs every variant interleaved, writes the result and both reports. */
export async function runPhases(raw: RawPhasesOptions, io: CommandIo, runtime: PhasesRuntime = {}): Promise<PhasesOutcome> {
  const fail = (code: number): PhasesOutcome => ({ exitCode: code, result: null, analysis: null, resultPath: null, markdownPath: null, htmlPath: null })
  const stage = { name: 'options' }
  try {
    const plan = await resolvePhasesPlan(raw, io, runtime, stage)
    stage.name = 'run'
    const collected = await runVariantSteps(plan, raw, io)
    const result = assemblePhasesResult(plan, collected)
    return await writePhasesOutputs(plan, result, raw, io, runtime, stage)
  } catch (error) {
    const { message, exitCode } = describeError(error)
    io.stderr(`authbench phases: ${stage.name}: ${message}\n`)
    return fail(exitCode)
  }
}

/** The config's target and its variants, each variant's environment (checked now, not 5 minutes in), the load. */
async function resolvePhasesPlan(raw: RawPhasesOptions, io: CommandIo, runtime: PhasesRuntime, stage: { name: string }): Promise<PhasesPlan> {
  const env = runtime.env ?? process.env
  await assertWritableDir(raw.out ?? PHASES_DEFAULTS.outDir)
  stage.name = 'config'
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const target = targetByName(config, raw.target)
  stage.name = 'options'
  const variants = [...(runtime.presets ?? Object.keys(target.variants ?? {}))]
  if (variants.length < 2) throw new BadOptionError(`phases compares the variants of a target: "${target.name}" declares ${variants.length === 0 ? 'none' : 'only one'}`)
  // --store and --cache are the target's to read (its variantsEnv); a target without one takes none.
  const targetOptions: Record<string, string> = {
    ...(raw.store === undefined ? {} : { store: raw.store }),
    ...(raw.cache === undefined ? {} : { cache: raw.cache })
  }
  if (target.variantsEnv === undefined && Object.keys(targetOptions).length > 0) throw new BadOptionError(`--store and --cache mean nothing to target "${target.name}" (it has no variantsEnv)`)
  const rounds = raw.trials === undefined ? PHASES_DEFAULTS.rounds : parseIntOption('--trials', raw.trials, 1, 1_000)
  const seed = raw.seed === undefined ? PHASES_DEFAULTS.seed : parseIntOption('--seed', raw.seed, 0, 2 ** 31 - 1)
  const backendLabel = [raw.store ?? (target.variantsEnv === undefined ? null : 'memory'), raw.cache].filter((x) => x !== null && x !== undefined).join('-')
  const label = raw.label ?? `phases${backendLabel === '' ? '' : `-${backendLabel}`}`
  const defaultScenarios = target.report?.scenarios ?? config.scenarios.map((s) => s.name)
  const profiling = parseProfileOptions(raw)
  if (profiling !== null && raw.profileArm !== undefined) throw new BadOptionError('--profile-arm is for ab only')
  const profiler = profiling === null ? null : createProfiler(profiling, (m) => io.stderr(`warning: ${m}\n`))
  const opts = parseRunOptions({
    scenario: raw.scenario === undefined || raw.scenario.length === 0 ? [...defaultScenarios] : raw.scenario,
    duration: raw.duration,
    warmup: raw.warmup,
    connections: raw.connections,
    scenarioParam: raw.scenarioParam,
    errorThreshold: raw.errorThreshold,
    maxPool: raw.maxPool,
    label
  }, config, { durationMs: PHASES_DEFAULTS.durationMs, warmupMs: PHASES_DEFAULTS.warmupMs })
  stage.name = 'variants'
  const envs = new Map<string, Record<string, string>>()
  for (const variant of variants) {
    envs.set(variant, target.variantsEnv !== undefined ? target.variantsEnv(variant, targetOptions, env) : { ...variantEnv(target, variant) })
  }
  return { target, variants, envs, targetOptions, backendLabel, opts, rounds, seed, profiler }
}

/** Every (round, scenario, variant) step in the plan's order, each one trial on a fresh target. */
async function runVariantSteps(plan: PhasesPlan, raw: RawPhasesOptions, io: CommandIo): Promise<PhasesCollected> {
  const { opts, variants, rounds, seed, profiler } = plan
  const steps = planVariants({ variants, scenarios: opts.scenarios.map((s) => s.scenario.name), rounds, seed })
  const byName = new Map(opts.scenarios.map((s) => [s.scenario.name, s]))
  const generatorCpus = raw.pin === false ? null : await pinGenerator()
  const model = opts.scenarios[0]?.load.model ?? 'closed'
  const collected: PhasesCollected = {
    trials: [],
    configs: new Map(),
    cpuPinning: { target: null, generator: generatorCpus },
    calibration: null,
    aborted: null,
    createdAt: new Date().toISOString(),
    fingerprint: collectFingerprint({ store: raw.store ?? null, cache: raw.cache === undefined ? null : `per variant (${raw.cache} where it caches)`, preset: variants.join(','), driver: model === 'open' ? 'open' : 'autocannon' }),
    loadAverage: { start: loadavg().map((x) => Math.round(x * 100) / 100), end: [] }
  }
  if (raw.progress !== false) {
    io.stderr(`phases: ${steps.length} trials: ${variants.join(', ')} × ${opts.scenarios.length} scenario(s) × ${rounds} round(s)${plan.backendLabel === '' ? '' : ` on ${plan.backendLabel}`}, seed ${seed}; load average ${collected.loadAverage.start.join(' ')}\n`)
  }
  for (const step of steps) {
    if (io.signal?.aborted) {
      collected.aborted = { reason: 'interrupted (SIGINT or abort)', code: 'AUTHBENCH_ERR_ABORTED' }
      break
    }
    const run = (): Promise<RunResult> => runFreshTrial(
      {
        target: plan.target,
        label: opts.label,
        scenario: byName.get(step.scenario) as ScenarioPlan,
        env: plan.envs.get(step.variant) as Record<string, string>,
        errorRateThreshold: opts.errorRateThreshold,
        lateShareThreshold: opts.lateShareThreshold,
        maxPoolSize: opts.maxPoolSize,
        // Once, on the first trial's target: a reference for cross-machine trends only.
        calibration: raw.calibration !== false && step.index === 0,
        generatorCpus,
        fingerprint: { ...collected.fingerprint, cpuPinning: collected.cpuPinning },
        ...(profiler === null ? {} : { profile: { profiler, group: step.variant, pair: step.round } })
      },
      io
    )
    let one = await run()
    // A target that did not come up in time on a loaded machine should not throw away a long
    // run: one more start, then the failure stands. A crash mid-trial is never retried.
    if (one.aborted?.code === 'AUTHBENCH_ERR_TARGET_START' && one.trials.length === 0 && !io.signal?.aborted) {
      io.stderr(`warning: ${step.variant}, ${step.scenario} round ${step.round + 1}: ${one.aborted.reason}; starting it once more\n`)
      one = await run()
    }
    collected.cpuPinning = one.environment.cpuPinning
    if (step.index === 0) collected.calibration = one.calibration
    if (!collected.configs.has(step.variant) && one.environment.targetConfig !== null) collected.configs.set(step.variant, one.environment.targetConfig)
    const trial = one.trials[0]
    if (trial !== undefined) {
      collected.trials.push({ ...trial, trial: step.trial, variant: step.variant, round: step.round })
      if (raw.progress !== false) io.stderr(`  [${step.index + 1}/${steps.length}] ${step.scenario} round ${step.round + 1} ${step.variant}: ${describeTrial(trial)}\n`)
    }
    if (one.aborted !== null) {
      collected.aborted = { code: one.aborted.code, reason: `${step.variant}, ${step.scenario} round ${step.round + 1}: ${one.aborted.reason}` }
      break
    }
  }
  collected.loadAverage.end = loadavg().map((x) => Math.round(x * 100) / 100)
  return collected
}

/** The phases result: trials tagged with variant and round, each variant's env and reported config. */
function assemblePhasesResult(plan: PhasesPlan, collected: PhasesCollected): RunResult {
  const { opts, variants, target } = plan
  const last = variants[variants.length - 1] as string
  return buildRunResult({
    kind: 'phases',
    label: opts.label,
    createdAt: collected.createdAt,
    fingerprint: collected.fingerprint,
    // Free-form by design: per variant, what it was asked to run with and what the target reported.
    targetConfig: {
      variants: Object.fromEntries(variants.map((p) => [p, { env: redactEnv(plan.envs.get(p) as Record<string, string>), config: collected.configs.get(p) ?? null }])),
      targetOptions: plan.targetOptions,
      plan: { rounds: plan.rounds, seed: plan.seed, order: 'blocks of two rounds: a seeded permutation, then its reverse' },
      loadAverage: collected.loadAverage
    },
    cpuPinning: collected.cpuPinning,
    scenarios: opts.scenarios,
    trials: collected.trials,
    // The summary describes the last (most optimised) variant; every variant is in phases.md.
    summarizes: (t) => t.variant === last,
    calibration: collected.calibration,
    aborted: collected.aborted,
    target
  })
}

/** result.json, then phases.md and phases.html from the target's report data; the exit code. */
async function writePhasesOutputs(plan: PhasesPlan, result: RunResult, raw: RawPhasesOptions, io: CommandIo, runtime: PhasesRuntime, stage: { name: string }): Promise<PhasesOutcome> {
  stage.name = 'result'
  const dir = path.resolve(raw.out ?? PHASES_DEFAULTS.outDir, resultDirName(new Date(result.createdAt), plan.opts.label))
  const file = path.join(dir, 'result.json')
  let profiled: ProfileOutput | null = null
  if (plan.profiler !== null) {
    stage.name = 'profile'
    profiled = await finishProfiling(result, plan.profiler, plan.variants, dir)
    stage.name = 'result'
  }
  for (const p of await writeResult(file, result)) io.stderr(`warning: result does not match the schema: ${p}\n`)
  stage.name = 'reports'
  const analysis = analysePhases(result, { ...(runtime.settings === undefined ? {} : { settings: runtime.settings }), ...(plan.target.report === undefined ? {} : { report: plan.target.report }) })
  const markdownPath = path.join(dir, 'phases.md')
  const htmlPath = path.join(dir, 'phases.html')
  await writeFileAtomic(markdownPath, `${renderPhasesMarkdown(analysis)}${profiled === null || profiled.markdown === '' ? '' : `\n${profiled.markdown}\n`}`)
  await writeFileAtomic(htmlPath, insertBeforeBodyEnd(renderPhasesHtml(analysis), profiled?.html ?? ''))
  if (result.profile !== undefined) io.stdout(`profiles: ${result.profile.files.map((f) => path.join(dir, 'profiles', f)).join(', ') || 'none'}\n`)
  io.stdout(`phases: ${result.trials.length} trial(s); reports: ${markdownPath}, ${htmlPath}, ${file}\n`)
  let exitCode: number = EXIT.OK
  if (result.aborted !== null) {
    io.stderr(`phases stopped early (${result.aborted.code}): ${result.aborted.reason}\n`)
    exitCode = exitCodeForCode(result.aborted.code)
  }
  return { exitCode, result, analysis, resultPath: file, markdownPath, htmlPath }
}

/** Secrets stay out of result files: URLs lose their credentials, empty (blanked) keys are dropped. */
function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '').map(([k, v]) => [k, k.endsWith('_URL') ? (redactUrl(v) as string) : k === 'JWT_SECRET' ? '***' : v]))
}

/** The CLI's entry: the exit code only. */
export async function phasesCommand(raw: RawPhasesOptions, io: CommandIo, runtime: PhasesRuntime = {}): Promise<number> {
  return (await runPhases(raw, io, runtime)).exitCode
}

