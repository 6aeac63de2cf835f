// `authbench run`: the composition root of a benchmark run. Parses options, starts (or checks)
// the target, wires the engine to drivers, /metrics and the display, writes
// reports/<timestamp>-<label>/result.json and prints the summary. Returns the process exit code:
// 0 done (or no regression with --compare), 1 regression (--compare), 2 bad input or a run that
// could not complete (target crashed or stopped answering), 130 SIGINT.
import path from 'node:path'
import { CALIBRATION_DEFAULT, Engine } from '../../engine/engine.ts'
import { commandPlanDefaults, wireTarget } from '../../engine/wiring.ts'
import type { EngineEvents, TargetHandle } from '../../engine/engine.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { assertLoopback } from '../../engine/loopback.ts'
import { formatSummary } from '../../reporters/print-summary.ts'
import { ProgressDisplay } from '../progress.ts'
import { assertWritableDir, resultDirName, writeFileAtomic, writeResult } from '../../result-io.ts'
import { renderRunHtml, renderRunMarkdown } from '../../reporters/run-report.ts'
import { DEFAULT_BASELINE_PATH, compareCommand } from './compare.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import type { TargetDefinition } from '../../api.ts'
import { loadConfig } from '../../config.ts'
import { createProfiler, finishProfiling, parseProfileOptions } from '../../profile/session.ts'
import type { RawProfileOptions } from '../../profile/session.ts'
import { BadOptionError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import type { RunResult } from '../../types.ts'
import { parseRunOptions } from './run-options.ts'
import { applySlos } from '../../stats/slo.ts'
import { renderSloJunit } from '../../reporters/slo-junit.ts'
import { writeFile } from 'node:fs/promises'
import type { RawRunOptions, RunOptions, TypedRunValues } from './run-options.ts'
import type { CommandIo } from '../io.ts'
import { driverNameOf } from '../../engine/drivers/index.ts'

export type { CommandIo } from '../io.ts'

/** A finished run: its result as written, where it was written, and the exit code without --compare. */
export interface RunOutcome {
  exitCode: number
  result: RunResult
  resultPath: string
  slosMet: boolean
}

/**
 * Runs; throws usage errors (BadOptionError & co.) for the CLI to map to exit 2. With --compare,
 * the comparison judges the run's result as it is in memory, not a re-read of result.json.
 */
export async function runCommand(raw: RawRunOptions & RawProfileOptions, io: CommandIo): Promise<number> {
  const run = await runBenchmark(raw, io)
  if (raw.compare !== true || run.result.aborted !== null) return run.exitCode
  const compared = await compareCommand({
    current: run.result,
    resultPath: run.resultPath,
    baselinePath: raw.baseline ?? DEFAULT_BASELINE_PATH,
    ...(raw.config === undefined ? {} : { configPath: raw.config }),
    json: raw.json === true,
    stdout: (line) => io.stdout(`${line}\n`),
    stderr: (line) => io.stderr(`${line}\n`)
  })
  return exitCodeFor({ verdictExit: compared as 0 | 1 | 2, objectivesMet: run.slosMet })
}

/** The engine for a parsed run: its plan, and its target started (pinned, profiled) or at the URL. */
async function engineFor(opts: RunOptions, profiler: ReturnType<typeof createProfiler> | null): Promise<Engine> {
  const url = opts.url?.replace(/\/+$/, '') ?? null
  const model = opts.scenarios[0]?.load.model ?? 'closed'
  // The generator goes on its own core only when the target is ours to pin to another one.
  const generatorCpus = url === null ? await pinGenerator() : null
  const target = opts.target
  const wiring = wireTarget(target, profiler)
  const start = async (): Promise<TargetHandle> => {
    const options = { ...targetProcessOptions(target as TargetDefinition, opts.targetEnv), pinCpus: generatorCpus === null ? null : ('auto' as const) }
    return wiring.start(options, generatorCpus, { group: '' })
  }
  const plan = {
    label: opts.label,
    scenarios: opts.scenarios,
    trials: opts.trials,
    restartPerTrial: opts.restartPerTrial,
    errorRateThreshold: opts.errorRateThreshold,
    lateShareThreshold: opts.lateShareThreshold,
    calibration: opts.calibration ? CALIBRATION_DEFAULT : null,
    maxPoolSize: opts.maxPoolSize,
    ...commandPlanDefaults(target),
    fingerprint: {
      ...collectFingerprint({ variant: opts.variant, targetOptions: opts.targetOptions, driver: driverNameOf(opts.scenarios, model) }),
      cpuPinning: { target: null, generator: generatorCpus }
    },
    target
  }
  return new Engine(plan, wiring.deps(url !== null ? { url } : { start }))
}

/** result.json, report.md and report.html (and junit.xml for --slo) in the run's folder, the profiles, and the summary on stdout. */
async function writeRun(result: RunResult, opts: RunOptions, raw: RawRunOptions, profiler: ReturnType<typeof createProfiler> | null, io: CommandIo): Promise<string> {
  const dir = path.resolve(opts.outDir, resultDirName(new Date(result.createdAt), opts.label))
  const file = path.join(dir, 'result.json')
  if (profiler !== null) {
    await finishProfiling(result, profiler, [''], dir)
    io.stderr(`profiles: ${(result.profile?.files ?? []).map((f) => path.join(dir, 'profiles', f)).join(', ') || 'none (no trial was profiled)'}\n`)
  }
  const problems = await writeResult(file, result)
  for (const p of problems) io.stderr(`warning: result does not match the schema: ${p}\n`)
  // The run's own reports; with --compare, the comparison's report.md and report.html replace them.
  await writeFileAtomic(path.join(dir, 'report.md'), renderRunMarkdown(result))
  await writeFileAtomic(path.join(dir, 'report.html'), renderRunHtml(result))
  if (opts.slos.length > 0) await writeFile(path.join(dir, 'junit.xml'), renderSloJunit(result))
  // With --compare, compare prints the one JSON document (the result with its comparison).
  if (opts.json && (raw.compare !== true || result.aborted !== null)) io.stdout(`${JSON.stringify(result, null, 2)}\n`)
  else if (!opts.json) io.stdout(formatSummary(result))
  const shown = path.relative(process.cwd(), file)
  io.stderr(`result written to ${shown.startsWith('..') ? file : shown}\n`)
  return file
}

/**
 * Runs the plan, writes result.json and prints the summary; the result goes back to the caller.
 * `typed`: the calling command's own defaults, as numbers (baseline's trials).
 */
export async function runBenchmark(raw: RawRunOptions & RawProfileOptions, io: CommandIo, typed: TypedRunValues = {}): Promise<RunOutcome> {
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const opts = parseRunOptions(raw, config, typed)
  const profiling = parseProfileOptions(raw)
  if (profiling !== null && raw.profileArm !== undefined) throw new BadOptionError('--profile-arm is for ab only')
  if (profiling !== null && opts.url !== null) throw new BadOptionError('--profile needs a target the harness starts (with the inspector on); it cannot profile a --url target')
  const profiler = profiling === null ? null : createProfiler(profiling, (m) => io.stderr(`warning: ${m}\n`))
  await assertWritableDir(opts.outDir)
  if (opts.url !== null) await assertLoopback(opts.url, opts.allowRemote)
  const engine = await engineFor(opts, profiler)
  const bars = opts.progress ? new ProgressDisplay({ json: opts.json }) : null
  attachDisplay(engine, opts, io, bars)
  let result: RunResult
  try {
    result = await engine.run(io.signal)
  } finally {
    bars?.stop()
  }
  const slosMet = applySlos(opts.slos, result.summary)
  const file = await writeRun(result, opts, raw, profiler, io)
  if (result.aborted !== null) {
    io.stderr(`run aborted (${result.aborted.code}): ${result.aborted.reason}\n`)
    return { exitCode: exitCodeFor({ stopped: result.aborted }), result, resultPath: file, slosMet }
  }
  const failed = result.summary.flatMap((s) => (s.slo ?? []).filter((o) => !o.passed).map((o) => `${s.scenario} ${o.expression}`))
  if (!slosMet) io.stderr(`SLO failed: ${failed.join(', ')} (junit.xml beside the result)\n`)
  return { exitCode: exitCodeFor({ objectivesMet: slosMet }), result, resultPath: file, slosMet }
}

/**
 * Progress on stderr, silent with --json: bars per trial on a terminal (harness/cli/progress.ts),
 * plain lines otherwise (CI logs, pipes).
 */
function attachDisplay(engine: Engine, opts: RunOptions, io: CommandIo, bars: ProgressDisplay | null): void {
  const probePath = opts.target?.calibration?.path ?? opts.target?.readiness.path ?? '/'
  const on = <K extends keyof EngineEvents>(event: K, fn: (payload: EngineEvents[K]) => void): void => void engine.on(event, fn)
  on('warning', (w) => io.stderr(`warning: ${w.message}\n`))
  if (!opts.progress) return
  on('plan-start', (p) => io.stderr(`authbench: ${p.scenarios.join(', ')} × ${p.trials} trial(s)\n`))
  if (bars?.enabled === true) {
    on('stage', (p) => {
      if (p.stage === 'measure' && p.driver !== undefined) bars.attach(p.driver, { scenario: p.scenario, trial: p.trial, durationMs: p.durationMs })
    })
    return
  }
  on('stage', (p) => {
    if (p.stage === 'calibration') io.stderr(`  calibration: GET ${probePath} for ${p.durationMs} ms\n`)
    if (p.stage === 'measure') io.stderr(`  ${p.scenario} trial ${p.trial + 1}: measuring ${p.durationMs} ms\n`)
  })
  on('tick', (t) =>
    io.stderr(`    ${t.scenario} #${t.trial + 1} ${t.tick.second + 1}s: ${t.tick.requests} req, ${t.tick.errors} err, p99 ${(t.tick.p99Us / 1000).toFixed(2)} ms\n`)
  )
  on('trial-done', (t) => {
    const v = t.validity.state === 'valid' ? 'valid' : `INVALID ${t.validity.code}`
    io.stderr(
      `  ${t.scenario} trial ${t.trial + 1}: ${Math.round(t.throughputRps)} req/s, p99 ${(t.latencyUs.p99 / 1000).toFixed(2)} ms, ${(t.errorRate * 100).toFixed(2)}% errors, ${v}\n`
    )
  })
}
