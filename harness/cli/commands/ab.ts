// `authbench ab --a <spec> --b <spec>`: the pull-request gate. Resolves the two arms (a variant, a
// file of env overrides, or a git ref built in its own worktree), runs them interleaved through
// the engine's A/B orchestrator (harness/engine/ab.ts), compares the arms with paired statistics
// and writes the registered reports. Exit codes come from harness/exit-code.ts: 0 no regression,
// 1 a regression or a failed --slo, 2 usage errors, bad specs or invalid data, 130 interrupted.
import path from 'node:path'
import { AbOrchestrator, budgetNotes, describeMs, type BudgetedRun, type InterleavedRun } from '../../engine/ab.ts'
import { DUET } from '../../engine/engine.ts'
import { prepareArms, releaseAll, resolveArmSpec, worktreeDirty } from '../ab-spec.ts'
import type { PreparedArm } from '../ab-spec.ts'
import { withHeadline } from '../../reporters/headline.ts'
import { formatVerdictTable } from '../../reporters/verdict-table.ts'
import { judgeAB } from '../../stats/compare.ts'
import { BadOptionError, describeError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { renderJson } from '../../reporters/json.ts'
import { renderMarkdown } from '../../reporters/markdown.ts'
import { writeReports } from '../../reporters/index.ts'
import { assertWritableDir, resultDirName, writeResult } from '../../result-io.ts'
import { formatP, minPairsFor, signedRankMinP } from '../../stats/sensitivity.ts'
import { minFirstPairs } from '../../stats/sequential.ts'
import { applySlos } from '../../stats/slo.ts'
import { createProfiler, finishProfiling, parseProfileOptions } from '../../profile/session.ts'
import type { ProfileOutput, RawProfileOptions } from '../../profile/session.ts'
import type { Comparison, CompareSettings, RunResult } from '../../types.ts'
import { loadConfig, targetByName, type ResolvedConfig } from '../../config.ts'
import { resolveCompareSettings } from '../../stats/verdict.ts'
import { appendStepSummary } from './compare.ts'
import type { CommandIo } from '../io.ts'
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

function safeLabel(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._+-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'ab'
  )
}

/** The orchestrator's progress, one line each on stderr (warnings always, the rest unless --no-progress). */
export function printAbProgress(orchestrator: AbOrchestrator, io: Pick<CommandIo, 'stderr'>, progress: boolean): void {
  orchestrator.on('warning', (message) => io.stderr(`warning: ${message}\n`))
  if (!progress) return
  orchestrator.on('note', (message) => io.stderr(`${message}\n`))
  orchestrator.on('trial', (t) => io.stderr(`  [${t.index + 1}/${t.total}] ${t.scenario} pair ${t.pair + 1} ${t.arm} (${t.spec}): ${describeTrial(t.trial)}\n`))
  orchestrator.on('look', (l) =>
    io.stderr(`ab --budget: ${l.scenario} look ${l.look} at ${l.pairs} pairs, level ${formatP(l.alpha)}; ${describeMs(l.spentMs)} of ${describeMs(l.budgetMs)} spent\n`)
  )
}

/** Everything `ab` settles before any load: options, the gate's settings and the arms' specs. */
interface AbPlan {
  config: ResolvedConfig
  opts: RunOptions
  pairs: number
  seed: number
  slotMs: number
  budgetMs: number | null
  settings: CompareSettings
  profiling: ReturnType<typeof parseProfileOptions>
}

function parseAbPlan(raw: RawAbOptions, config: ResolvedConfig, runtime: AbRuntime): AbPlan {
  const pairs = raw.trials === undefined ? AB_DEFAULTS.pairs : parseIntOption('--trials', raw.trials, 1, 1_000)
  const seed = raw.seed === undefined ? AB_DEFAULTS.seed : parseIntOption('--seed', raw.seed, 0, 2 ** 31 - 1)
  const label = raw.label ?? safeLabel(`ab-${raw.a}-vs-${raw.b}`)
  const slotMs = raw.slot === undefined ? AB_DEFAULTS.slotMs : raw.slot.trim() === 'duet' ? DUET : parseDurationMs('--slot', raw.slot, true)
  if (slotMs > 0 && slotMs < 100)
    throw new BadOptionError(`--slot ${raw.slot} is too short: each slot opens its connections afresh, so slots under 100ms measure connection set-up (use 0 to turn slots off)`)
  const { scenario, duration, warmup, connections, vus, rate, maxInFlight, maxVus, stages, slo, scenarioParam, errorThreshold, maxPool } = raw
  if (stages !== undefined && slotMs > 0) throw new BadOptionError('--stages needs whole trials per arm: use --slot duet (the default) or 0, not time slots')
  const opts = parseRunOptions({ scenario, duration, warmup, connections, vus, rate, maxInFlight, maxVus, stages, slo, scenarioParam, errorThreshold, maxPool, label }, config, {
    durationMs: AB_DEFAULTS.durationMs,
    warmupMs: AB_DEFAULTS.warmupMs
  })
  const settings = runtime.settings ?? resolveCompareSettings(config.gate, config.file ?? 'settings', 'paired')
  const budgetMs = raw.budget === undefined ? null : parseDurationMs('--budget', raw.budget, false)
  const profiling = parseProfileOptions(raw)
  checkPairs(pairs, settings, budgetMs, profiling !== null)
  return { config, opts, pairs, seed, slotMs, budgetMs, settings, profiling }
}

/** Refused before any load: a gate that cannot fail would pass a gross regression with exit 0. */
function checkPairs(pairs: number, settings: CompareSettings, budgetMs: number | null, profiling: boolean): void {
  if (pairs < settings.minTrials)
    throw new BadOptionError(`--trials ${pairs} is below the ${settings.minTrials} pairs the comparison needs (minTrials): use --trials ${settings.minTrials} or more`)
  const minPairs = minPairsForSignificance(1 - settings.confidence)
  if (settings.requireSignificance && pairs < minPairs) {
    throw new BadOptionError(
      `--trials ${pairs} is too few: with fewer than ${minPairs} pairs the exact signed-rank test cannot reach p < ${formatP(1 - settings.confidence)} (its smallest p is ${formatP(signedRankMinP(pairs))}), so no regression could ever be called; use --trials ${minPairs} or more`
    )
  }
  // Later budget rounds number their pairs afresh, so their profiles could not be told from the first round's.
  if (budgetMs !== null && profiling) throw new BadOptionError('--profile cannot be combined with --budget: run a fixed number of pairs (--trials) to profile')
  if (budgetMs !== null && settings.requireSignificance && pairs < minFirstPairs(1 - settings.confidence)) {
    throw new BadOptionError(
      `--budget: the first round needs at least ${minFirstPairs(1 - settings.confidence)} pairs for its sequential look to be able to call a regression; use --trials ${minFirstPairs(1 - settings.confidence)} or more`
    )
  }
}

/** Resolves both specs and builds git-ref arms in their worktrees. */
async function prepareAbArms(raw: RawAbOptions, plan: AbPlan, io: CommandIo): Promise<PreparedArm[]> {
  const target = targetByName(plan.config, raw.target)
  const specA = await resolveArmSpec('--a', raw.a as string, parseEnvAssignments('--a-env', raw.aEnv), target)
  const specB = await resolveArmSpec('--b', raw.b as string, parseEnvAssignments('--b-env', raw.bEnv), target)
  const targetCwd = target.start.cwd ?? plan.config.dir
  if ([specA, specB].some((s) => s.kind === 'git') && (await worktreeDirty(targetCwd))) {
    io.stderr('warning: the working tree has uncommitted changes; git-ref arms build their commits only, without them\n')
  }
  return prepareArms([specA, specB], { targetCwd, install: target.install, build: target.build, ...(io.signal === undefined ? {} : { signal: io.signal }) }, (line) =>
    io.stderr(`${line}\n`)
  )
}

/** Runs the arms, interleaved (and budgeted with --budget); the result and, when budgeted, the looks. */
async function executeAb(
  raw: RawAbOptions,
  plan: AbPlan,
  arms: readonly PreparedArm[],
  runtime: AbRuntime,
  io: CommandIo
): Promise<{ result: RunResult; budgeted: BudgetedRun | null; profiler: ReturnType<typeof createProfiler> | null }> {
  const profiler = plan.profiling === null ? null : createProfiler(plan.profiling, (m) => io.stderr(`warning: ${m}\n`))
  const [armA, armB] = arms as [PreparedArm, PreparedArm]
  const { opts } = plan
  const interleaved: InterleavedRun = {
    target: targetByName(plan.config, raw.target),
    arms: { A: armA, B: armB },
    scenarios: opts.scenarios,
    pairs: plan.pairs,
    seed: plan.seed,
    label: opts.label,
    calibration: raw.calibration !== false,
    pin: runtime.pin !== false,
    errorRateThreshold: opts.errorRateThreshold,
    lateShareThreshold: opts.lateShareThreshold,
    maxPoolSize: opts.maxPoolSize,
    slotMs: plan.slotMs,
    profile: profiler === null || plan.profiling === null ? null : { profiler, arms: plan.profiling.arms }
  }
  const orchestrator = new AbOrchestrator()
  printAbProgress(orchestrator, io, raw.progress !== false)
  if (plan.budgetMs === null) return { result: await orchestrator.run(interleaved, io.signal), budgeted: null, profiler }
  const budgeted = await orchestrator.runBudgeted(interleaved, plan.budgetMs, plan.settings, io.signal)
  return { result: budgeted.result, budgeted, profiler }
}

/** Writes the result, compares the arms, writes the reports and decides the exit code. */
async function reportAb(raw: RawAbOptions, plan: AbPlan, run: Awaited<ReturnType<typeof executeAb>>, runtime: AbRuntime, io: CommandIo): Promise<AbOutcome> {
  const { result, budgeted, profiler } = run
  const dir = path.resolve(raw.out ?? AB_DEFAULTS.outDir, resultDirName(new Date(result.createdAt), plan.opts.label))
  const file = path.join(dir, 'result.json')
  const profiled: ProfileOutput | null = profiler === null ? null : await finishProfiling(result, profiler, ['A', 'B'], dir)
  for (const p of await writeResult(file, result)) io.stderr(`warning: result does not match the schema: ${p}\n`)
  if (result.trials.length === 0) {
    io.stderr(`authbench ab: no trial completed${result.aborted === null ? '' : ` (${result.aborted.code}: ${result.aborted.reason})`}; result written to ${file}\n`)
    return { exitCode: exitCodeFor({ stopped: result.aborted ?? { code: 'AUTHBENCH_ERR_RUN_FAILED' } }), result, comparison: null, resultPath: file }
  }
  const judgement = judgeAB(result, { settings: plan.settings, currentPath: file, ...(budgeted === null ? {} : { scenarioSettings: budgeted.scenarioSettings }) })
  const comparison = withHeadline(judgement)
  if (budgeted !== null) budgetNotes(budgeted, comparison)
  // Objectives are checked on the candidate's (arm B's) merged figures, which the summary holds.
  const slosMet = applySlos(plan.opts.slos, result.summary)
  const written = await writeReports(result, comparison, dir, profiled === null ? {} : { markdown: profiled.markdown, html: profiled.html })
  await appendStepSummary(`${renderMarkdown(result, comparison)}${profiled === null ? '' : `\n${profiled.markdown}`}`, runtime.env ?? process.env)
  const say = raw.json === true ? io.stderr : io.stdout
  say(`${comparison.headline}\n`)
  const table = formatVerdictTable(comparison)
  if (table !== '') say(`${table}\n`)
  say(`reports: ${Object.values(written).join(', ')}\n`)
  if (result.profile !== undefined) say(`profiles: ${result.profile.files.map((f) => path.join(dir, 'profiles', f)).join(', ') || 'none'}\n`)
  if (raw.json === true) io.stdout(renderJson(result, comparison))
  if (!slosMet) say(`SLO failed on arm B: ${result.summary.flatMap((s) => (s.slo ?? []).filter((o) => !o.passed).map((o) => `${s.scenario} ${o.expression}`)).join(', ')}\n`)
  // Incomplete data never passes the gate: 2 unless a regression was already certain.
  if (result.aborted !== null) io.stderr(`ab stopped early (${result.aborted.code}): ${result.aborted.reason}\n`)
  const exitCode = exitCodeFor({ verdictExit: comparison.exitCode, objectivesMet: slosMet, stopped: result.aborted })
  return { exitCode, result, comparison, resultPath: written.json ?? file }
}

/** Parses, resolves specs, runs, compares and reports; the outcome carries the exit code. */
export async function runAb(raw: RawAbOptions, io: CommandIo, runtime: AbRuntime = {}): Promise<AbOutcome> {
  let prepared: PreparedArm[] = []
  let stage = 'options'
  try {
    if (raw.a === undefined || raw.b === undefined) throw new BadOptionError('ab needs both --a <spec> and --b <spec> (a variant, a JSON file of env overrides, or a git ref)')
    await assertWritableDir(raw.out ?? AB_DEFAULTS.outDir)
    stage = 'config'
    const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
    stage = 'options'
    const plan = parseAbPlan(raw, config, runtime)
    stage = 'build'
    prepared = await prepareAbArms(raw, plan, io)
    stage = 'run'
    const run = await executeAb(raw, plan, prepared, runtime, io)
    stage = 'reports'
    return await reportAb(raw, plan, run, runtime, io)
  } catch (error) {
    io.stderr(`authbench ab: ${stage}: ${describeError(error).message}\n`)
    return { exitCode: exitCodeFor({ error }), result: null, comparison: null, resultPath: null }
  } finally {
    await releaseAll(prepared)
  }
}

/** The CLI's entry: the exit code only. */
export async function abCommand(raw: RawAbOptions, io: CommandIo, runtime: AbRuntime = {}): Promise<number> {
  return (await runAb(raw, io, runtime)).exitCode
}
