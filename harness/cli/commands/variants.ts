// `authbench variants` (alias `phases`): a target's variants measured against each other on this
// machine. Runs every scenario under every variant, interleaved in randomised blocks of rounds with
// a fresh target per trial (as `ab` does for two arms), so a slow spell of the machine hits every
// variant of a round alike and the per-round ratios see through it. Writes result.json (kind
// 'variants', trials tagged with `variant` and `round`), variants.md and variants.html
// (harness/reporters/variants.ts). Exit codes: 0 done, 2 bad options or a target that failed
// (figures of the trials before it are still written), 130 interrupted. This is a description,
// not a gate: no verdict sets the exit code.
import { loadavg } from 'node:os'
import path from 'node:path'
import { CALIBRATION_DEFAULT, Engine } from '../../engine/engine.ts'
import type { ScenarioPlan } from '../../engine/engine.ts'
import { commandPlanDefaults, wireTarget } from '../../engine/wiring.ts'
import { printWarnings } from './engine-wiring.ts'
import { BadOptionError, describeError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { analyseVariants, renderVariantsHtml, renderVariantsMarkdown } from '../../reporters/variants.ts'
import type { VariantsAnalysis } from '../../reporters/variants.ts'
import { assertWritableDir, resultDirName, writeFileAtomic, writeResult } from '../../result-io.ts'
import { planVariants } from '../../engine/plan.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import type { TargetDefinition } from '../../api.ts'
import { loadConfig, targetByName, targetOptionsEnv, variantEnv } from '../../config.ts'
import { driverNameOf } from '../../engine/drivers/index.ts'
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
 * Defaults sized for a shared 2-core machine: 5 scenarios × 4 variants × 3 rounds = 60 trials of
 * ≈ (1.5 s start + 1 s warm-up + 3 s measure + setup) ≈ 7 minutes.
 */
export const VARIANTS_DEFAULTS = Object.freeze({
  rounds: 3,
  durationMs: 3_000,
  warmupMs: 1_000,
  outDir: 'reports',
  seed: 1
})

/** What commander hands over for `variants`. */
export interface RawVariantsOptions extends RawProfileOptions, RawInterleavedOptions {
  /** Values of the options the target declares, by name. */
  targetOptions?: Readonly<Record<string, string>>
  /** Rounds: each runs every scenario once under every variant. */
  trials?: string
  /** false: do not pin target and generator to separate cores (commander's --no-pin). */
  pin?: boolean
}

/** Knobs for programmatic callers (tests); not on the command line. */
export interface VariantsRuntime {
  /** Where DATABASE_URL and REDIS_URL are read. Default process.env. */
  env?: NodeJS.ProcessEnv
  settings?: CompareSettings
  /** Variants to run, in order; default all the target's. The first is the reference unless it lacks 'baseline'. */
  variants?: readonly string[]
}

export interface VariantsOutcome {
  exitCode: number
  result: RunResult | null
  analysis: VariantsAnalysis | null
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
        const options = {
          ...targetProcessOptions(spec.target, spec.env),
          ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
          pinCpus: spec.generatorCpus === null ? null : TARGET_CPUS
        }
        return wiring.start(options, spec.generatorCpus, p === undefined ? undefined : { group: p.group, pair: p.pair })
      }
    })
  )
  printWarnings(engine, io)
  return engine.run(io.signal)
}

// ---------------------------------------------------------------------------------------------
// The command

/** Everything a variants run needs, resolved from the options and the config before any load. */
interface VariantsPlan {
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
interface VariantsCollected {
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
export async function runVariants(raw: RawVariantsOptions, io: CommandIo, runtime: VariantsRuntime = {}): Promise<VariantsOutcome> {
  const fail = (code: number): VariantsOutcome => ({ exitCode: code, result: null, analysis: null, resultPath: null, markdownPath: null, htmlPath: null })
  const stage = { name: 'options' }
  try {
    const plan = await resolveVariantsPlan(raw, io, runtime, stage)
    stage.name = 'run'
    const collected = await runVariantSteps(plan, raw, io)
    const result = assembleVariantsResult(plan, collected)
    return await writeVariantsOutputs(plan, result, raw, io, runtime, stage)
  } catch (error) {
    io.stderr(`authbench variants: ${stage.name}: ${describeError(error).message}\n`)
    return fail(exitCodeFor({ error }))
  }
}

/** The config's target and its variants, each variant's environment (checked now, not 5 minutes in), the load. */
async function resolveVariantsPlan(raw: RawVariantsOptions, io: CommandIo, runtime: VariantsRuntime, stage: { name: string }): Promise<VariantsPlan> {
  const env = runtime.env ?? process.env
  await assertWritableDir(raw.out ?? VARIANTS_DEFAULTS.outDir)
  stage.name = 'config'
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const target = targetByName(config, raw.target)
  stage.name = 'options'
  const variants = [...(runtime.variants ?? Object.keys(target.variants ?? {}))]
  if (variants.length < 2) throw new BadOptionError(`variants compares the variants of a target: "${target.name}" declares ${variants.length === 0 ? 'none' : 'only one'}`)
  // The target's declared options, checked against its declaration; its variantsEnv (when it has
  // one) decides what they mean for each variant, else they go on top of every variant's env.
  const targetOptions: Record<string, string> = { ...raw.targetOptions }
  const optionsEnv = targetOptionsEnv(target, targetOptions)
  const rounds = raw.trials === undefined ? VARIANTS_DEFAULTS.rounds : parseIntOption('--trials', raw.trials, 1, 1_000)
  const seed = raw.seed === undefined ? VARIANTS_DEFAULTS.seed : parseIntOption('--seed', raw.seed, 0, 2 ** 31 - 1)
  const backendLabel = Object.values(targetOptions).join('-')
  const label = raw.label ?? `variants${backendLabel === '' ? '' : `-${backendLabel}`}`
  const defaultScenarios = target.report?.scenarios ?? config.scenarios.map((s) => s.name)
  const profiling = parseProfileOptions(raw)
  if (profiling !== null && raw.profileArm !== undefined) throw new BadOptionError('--profile-arm is for ab only')
  const profiler = profiling === null ? null : createProfiler(profiling, (m) => io.stderr(`warning: ${m}\n`))
  const opts = parseRunOptions(
    {
      scenario: raw.scenario === undefined || raw.scenario.length === 0 ? [...defaultScenarios] : raw.scenario,
      duration: raw.duration,
      warmup: raw.warmup,
      connections: raw.connections,
      vus: raw.vus,
      stages: raw.stages,
      scenarioParam: raw.scenarioParam,
      errorThreshold: raw.errorThreshold,
      maxPool: raw.maxPool,
      label
    },
    config,
    { durationMs: VARIANTS_DEFAULTS.durationMs, warmupMs: VARIANTS_DEFAULTS.warmupMs }
  )
  stage.name = 'variants'
  const envs = new Map<string, Record<string, string>>()
  for (const variant of variants) {
    envs.set(variant, target.variantsEnv !== undefined ? target.variantsEnv(variant, targetOptions, env) : { ...variantEnv(target, variant), ...optionsEnv })
  }
  return { target, variants, envs, targetOptions, backendLabel, opts, rounds, seed, profiler }
}

/** Every (round, scenario, variant) step in the plan's order, each one trial on a fresh target. */
async function runVariantSteps(plan: VariantsPlan, raw: RawVariantsOptions, io: CommandIo): Promise<VariantsCollected> {
  const { opts, variants, rounds, seed, profiler } = plan
  const steps = planVariants({ variants, scenarios: opts.scenarios.map((s) => s.scenario.name), rounds, seed })
  const byName = new Map(opts.scenarios.map((s) => [s.scenario.name, s]))
  const generatorCpus = raw.pin === false ? null : await pinGenerator()
  const model = opts.scenarios[0]?.load.model ?? 'closed'
  const collected: VariantsCollected = {
    trials: [],
    configs: new Map(),
    cpuPinning: { target: null, generator: generatorCpus },
    calibration: null,
    aborted: null,
    createdAt: new Date().toISOString(),
    fingerprint: collectFingerprint({ variant: variants.join(','), targetOptions: plan.targetOptions, driver: driverNameOf(opts.scenarios, model) }),
    loadAverage: { start: loadavg().map((x) => Math.round(x * 100) / 100), end: [] }
  }
  if (raw.progress !== false) {
    io.stderr(
      `variants: ${steps.length} trials: ${variants.join(', ')} × ${opts.scenarios.length} scenario(s) × ${rounds} round(s)${plan.backendLabel === '' ? '' : ` on ${plan.backendLabel}`}, seed ${seed}; load average ${collected.loadAverage.start.join(' ')}\n`
    )
  }
  for (const step of steps) {
    if (io.signal?.aborted) {
      collected.aborted = { reason: 'interrupted (SIGINT or abort)', code: 'AUTHBENCH_ERR_ABORTED' }
      break
    }
    const run = (): Promise<RunResult> =>
      runFreshTrial(
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

/** The variants result: trials tagged with variant and round, each variant's env and reported config. */
function assembleVariantsResult(plan: VariantsPlan, collected: VariantsCollected): RunResult {
  const { opts, variants, target } = plan
  const last = variants[variants.length - 1] as string
  return buildRunResult({
    kind: 'variants',
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
    // The summary describes the last (most optimised) variant; every variant is in variants.md.
    summarizes: (t) => t.variant === last,
    calibration: collected.calibration,
    aborted: collected.aborted,
    target
  })
}

/** result.json, then variants.md and variants.html from the target's report data; the exit code. */
async function writeVariantsOutputs(
  plan: VariantsPlan,
  result: RunResult,
  raw: RawVariantsOptions,
  io: CommandIo,
  runtime: VariantsRuntime,
  stage: { name: string }
): Promise<VariantsOutcome> {
  stage.name = 'result'
  const dir = path.resolve(raw.out ?? VARIANTS_DEFAULTS.outDir, resultDirName(new Date(result.createdAt), plan.opts.label))
  const file = path.join(dir, 'result.json')
  let profiled: ProfileOutput | null = null
  if (plan.profiler !== null) {
    stage.name = 'profile'
    profiled = await finishProfiling(result, plan.profiler, plan.variants, dir)
    stage.name = 'result'
  }
  for (const p of await writeResult(file, result)) io.stderr(`warning: result does not match the schema: ${p}\n`)
  stage.name = 'reports'
  const analysis = analyseVariants(result, {
    ...(runtime.settings === undefined ? {} : { settings: runtime.settings }),
    ...(plan.target.report === undefined ? {} : { report: plan.target.report })
  })
  const markdownPath = path.join(dir, 'variants.md')
  const htmlPath = path.join(dir, 'variants.html')
  await writeFileAtomic(markdownPath, `${renderVariantsMarkdown(analysis)}${profiled === null || profiled.markdown === '' ? '' : `\n${profiled.markdown}\n`}`)
  await writeFileAtomic(htmlPath, insertBeforeBodyEnd(renderVariantsHtml(analysis), profiled?.html ?? ''))
  if (result.profile !== undefined) io.stdout(`profiles: ${result.profile.files.map((f) => path.join(dir, 'profiles', f)).join(', ') || 'none'}\n`)
  io.stdout(`variants: ${result.trials.length} trial(s); reports: ${markdownPath}, ${htmlPath}, ${file}\n`)
  if (result.aborted !== null) io.stderr(`variants stopped early (${result.aborted.code}): ${result.aborted.reason}\n`)
  // A description, not a gate: no verdict, only whether the run finished.
  const exitCode = exitCodeFor({ stopped: result.aborted })
  return { exitCode, result, analysis, resultPath: file, markdownPath, htmlPath }
}

/** Secrets stay out of result files: URLs lose their credentials, empty (blanked) keys are dropped. */
function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => [k, k.endsWith('_URL') ? (redactUrl(v) as string) : k === 'JWT_SECRET' ? '***' : v])
  )
}

/** The CLI's entry: the exit code only. */
export async function variantsCommand(raw: RawVariantsOptions, io: CommandIo, runtime: VariantsRuntime = {}): Promise<number> {
  return (await runVariants(raw, io, runtime)).exitCode
}
