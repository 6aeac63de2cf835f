// `authbench capacity`: the highest offered rate each scenario sustains under the given SLOs
// (harness/engine/capacity.ts searches; this file starts the target, runs each step as a fresh short
// open-model trial through the engine, and writes capacity.json, capacity.md and report.html).
// Exit codes (harness/exit-code.ts): 0 done, 1 a capacity below --min-rate, 2 bad options (a bad
// --slo names itself) or a search that could not say (the generator's lower bound is below
// --min-rate, or a step's target failed), 130 interrupted.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { searchCapacity, type CapacityResult, type CapacityStep } from '../../engine/capacity.ts'
import { driverFor, driverNameOf } from '../../engine/drivers/index.ts'
import { Engine, fetchTargetConfig, startTargetHandle, type ScenarioPlan, type TargetHandle } from '../../engine/engine.ts'
import { BadOptionError, RunStoppedError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { commandPlanDefaults } from '../../engine/wiring.ts'
import { printWarnings } from './engine-wiring.ts'
import type { ScenarioSummary, TrialResult } from '../../types.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { assertLoopback } from '../../engine/loopback.ts'
import { formatLatencyUs, formatRps } from '../../reporters/print-summary.ts'
import { describeCapacity, renderCapacityHtml, renderCapacityMarkdown } from '../../reporters/capacity.ts'
import { ensureDir, resultDirName } from '../../result-io.ts'
import type { DriverFactory } from '../../engine/engine.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import { parseDurationMs, parseIntOption, parseRunOptions, parseShareOption } from './run-options.ts'
import type { RawRunOptions, RunOptions } from './run-options.ts'
import type { CommandIo } from '../io.ts'
import { loadConfig } from '../../config.ts'
import type { TargetDefinition } from '../../api.ts'

export interface RawCapacityOptions extends Pick<
  RawRunOptions,
  | 'config'
  | 'scenario'
  | 'slo'
  | 'url'
  | 'allowRemote'
  | 'variant'
  | 'targetEnv'
  | 'targetOptions'
  | 'connections'
  | 'maxInFlight'
  | 'maxVus'
  | 'scenarioParam'
  | 'errorThreshold'
  | 'maxLateShare'
  | 'maxPool'
  | 'out'
  | 'label'
  | 'timeout'
> {
  minRate?: string
  startRate?: string
  maxRate?: string
  stepDuration?: string
  warmup?: string
  precision?: string
  repeats?: string
  progress?: boolean
}

export const CAPACITY_DEFAULTS = Object.freeze({ startRps: 500, maxRps: 200_000, stepDurationMs: 2_000, warmupMs: 500, precision: 0.05, repeats: 3, outDir: 'reports' })

export interface CapacityRuntime {
  /** Replaces the open driver (tests: a generator made slow on purpose). */
  createDriver?: DriverFactory
}

/** The search's settings, parsed once. */
interface CapacitySettings {
  startRps: number
  maxRps: number
  minRps: number | null
  precision: number
  repeats: number
  stepDurationMs: number
  warmupMs: number
}

function parseCapacitySettings(raw: RawCapacityOptions): CapacitySettings {
  if ((raw.slo ?? []).length === 0) throw new BadOptionError('capacity needs at least one --slo, e.g. --slo "p99<20ms" --slo "errors<0.1%"')
  const stepDurationMs = raw.stepDuration === undefined ? CAPACITY_DEFAULTS.stepDurationMs : parseDurationMs('--step-duration', raw.stepDuration, false)
  const warmupMs = raw.warmup === undefined ? CAPACITY_DEFAULTS.warmupMs : parseDurationMs('--warmup', raw.warmup, true)
  const startRps = raw.startRate === undefined ? CAPACITY_DEFAULTS.startRps : parseIntOption('--start-rate', raw.startRate, 1, 10_000_000)
  const maxRps = raw.maxRate === undefined ? CAPACITY_DEFAULTS.maxRps : parseIntOption('--max-rate', raw.maxRate, 1, 10_000_000)
  if (maxRps < startRps) throw new BadOptionError(`--max-rate ${maxRps} is below --start-rate ${startRps}`)
  const minRps = raw.minRate === undefined ? null : parseIntOption('--min-rate', raw.minRate, 1, 10_000_000)
  const precision = raw.precision === undefined ? CAPACITY_DEFAULTS.precision : parseShareOption('--precision', raw.precision)
  if (precision < 0.005) throw new BadOptionError('--precision must be at least 0.005 (0.5%): finer steps than that measure noise')
  const repeats = raw.repeats === undefined ? CAPACITY_DEFAULTS.repeats : parseIntOption('--repeats', raw.repeats, 1, 20)
  return { startRps, maxRps, minRps, precision, repeats, stepDurationMs, warmupMs }
}

type StepMeasure = (rateRps: number) => Promise<{ trial: TrialResult; summary: ScenarioSummary }>

/**
 * One step of the search: a fresh short open-model trial at `rateRps` through the engine, on the
 * scenario's target. A step that does not complete ends the search with the run's own stop code,
 * so Ctrl-C exits 130 and a crashed target 2.
 */
function stepMeasure(
  sp: ScenarioPlan,
  opts: RunOptions,
  handle: TargetHandle,
  createDriver: DriverFactory,
  fingerprint: ReturnType<typeof collectFingerprint>,
  io: CommandIo,
  progress: boolean
): StepMeasure {
  const target = opts.target
  return async (rateRps) => {
    const engine = new Engine(
      {
        label: opts.label,
        kind: 'run',
        scenarios: [{ ...sp, load: { ...sp.load, rateRps } }],
        trials: 1,
        restartPerTrial: false,
        errorRateThreshold: opts.errorRateThreshold,
        lateShareThreshold: opts.lateShareThreshold,
        calibration: null,
        maxPoolSize: opts.maxPoolSize,
        ...commandPlanDefaults(target),
        fingerprint: { ...fingerprint, cpuPinning: handle.cpuPinning }
      },
      { target: { url: handle.url }, createDriver, metrics: null, fetchTargetConfig: (u) => fetchTargetConfig(u, target) }
    )
    if (progress) printWarnings(engine, io)
    const result = await engine.run(io.signal)
    const trial = result.trials[0]
    const summary = result.summary[0]
    if (result.aborted !== null) throw RunStoppedError.fromAborted(result.aborted, `the step at ${rateRps} req/s did not complete`)
    if (trial === undefined || summary === undefined) throw new RunStoppedError('AUTHBENCH_ERR_RUN_FAILED', `the step at ${rateRps} req/s measured nothing`)
    return { trial, summary }
  }
}

/** capacity.json, capacity.md and report.html in a dated folder; returns the folder. */
async function writeCapacity(
  opts: RunOptions,
  settings: CapacitySettings,
  results: readonly CapacityResult[],
  fingerprint: ReturnType<typeof collectFingerprint>
): Promise<string> {
  const dir = path.resolve(opts.outDir, resultDirName(new Date(), opts.label))
  await ensureDir(dir)
  const recorded = { ...settings, slos: opts.slos.map((s) => s.expression) }
  await writeFile(
    path.join(dir, 'capacity.json'),
    `${JSON.stringify({ tool: 'authbench', kind: 'capacity', label: opts.label, createdAt: new Date().toISOString(), settings: recorded, environment: fingerprint, results }, null, 2)}\n`
  )
  await writeFile(path.join(dir, 'capacity.md'), renderCapacityMarkdown(results, opts.slos, opts.label))
  await writeFile(path.join(dir, 'report.html'), renderCapacityHtml(results, opts.slos, opts.label))
  return dir
}

/** 1 when a capacity is known to be below --min-rate; 2 when the generator's ceiling hides whether it is. */
function capacityExit(results: readonly CapacityResult[], minRps: number | null, io: CommandIo): number {
  if (minRps === null) return exitCodeFor({})
  const below = results.filter((r) => r.capacityRps < minRps)
  const known = below.filter((r) => !r.generatorLimited)
  if (known.length > 0) {
    io.stderr(`capacity below --min-rate ${minRps}: ${known.map((r) => `${r.scenario} ${formatRps(r.capacityRps)} req/s`).join(', ')}\n`)
    return exitCodeFor({ objectivesMet: false })
  }
  if (below.length > 0) {
    io.stderr(
      `cannot tell whether ${below.map((r) => r.scenario).join(', ')} reach --min-rate ${minRps}: the load generator's ceiling (${below.map((r) => formatRps(r.capacityRps)).join(', ')} req/s) is below it\n`
    )
    return exitCodeFor({ verdictExit: 2 })
  }
  return exitCodeFor({})
}

export async function capacityCommand(raw: RawCapacityOptions, io: CommandIo, runtime: CapacityRuntime = {}): Promise<number> {
  const settings = parseCapacitySettings(raw)
  const { startRps, maxRps, precision, repeats, stepDurationMs, warmupMs } = settings
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const opts = parseRunOptions(
    {
      scenario: raw.scenario,
      slo: raw.slo,
      url: raw.url,
      allowRemote: raw.allowRemote,
      variant: raw.variant,
      targetEnv: raw.targetEnv,
      targetOptions: raw.targetOptions,
      connections: raw.connections,
      maxInFlight: raw.maxInFlight,
      maxVus: raw.maxVus,
      scenarioParam: raw.scenarioParam,
      errorThreshold: raw.errorThreshold,
      maxLateShare: raw.maxLateShare,
      maxPool: raw.maxPool,
      timeout: raw.timeout,
      out: raw.out,
      label: raw.label ?? `capacity-${(raw.scenario ?? ['all']).join('+').replace(/,/g, '+')}`
    },
    config,
    { rateRps: startRps, durationMs: stepDurationMs, warmupMs }
  )
  if (opts.url !== null) await assertLoopback(opts.url, opts.allowRemote)
  const generatorCpus = opts.url === null ? await pinGenerator() : null
  const progress = raw.progress !== false
  const createDriver = runtime.createDriver ?? ((model, workload) => driverFor(model, workload).create())
  const fingerprint = collectFingerprint({ variant: opts.variant, targetOptions: opts.targetOptions, driver: driverNameOf(opts.scenarios, 'open') })

  const results: CapacityResult[] = []
  let stopped: unknown = null
  for (const sp of opts.scenarios) {
    if (io.signal?.aborted === true) {
      stopped = new RunStoppedError('AUTHBENCH_ERR_ABORTED', `interrupted before the search of ${sp.scenario.name}`)
      break
    }
    // A fresh target per scenario, one for all its steps: the search measures one process.
    const handle: TargetHandle =
      opts.url !== null
        ? { url: opts.url.replace(/\/+$/, ''), cpuPinning: { target: null, generator: null }, exited: new Promise<Error>(() => undefined), stop: async () => undefined }
        : await startTargetHandle({ ...targetProcessOptions(opts.target as TargetDefinition, opts.targetEnv), pinCpus: generatorCpus === null ? null : 'auto' }, generatorCpus)
    try {
      if (progress) io.stderr(`capacity: ${sp.scenario.name}, objectives ${opts.slos.map((s) => s.expression).join(', ')}, steps of ${stepDurationMs} ms from ${startRps} req/s\n`)
      const onStep = (s: CapacityStep): void => {
        if (progress)
          io.stderr(
            `  ${s.phase.padEnd(6)} ${formatRps(s.rateRps).padStart(8)} req/s → completed ${formatRps(s.completedRps)}, p50 ${formatLatencyUs(s.p50Us)}, p99 ${formatLatencyUs(s.p99Us)}, ${s.outcome}${s.outcome === 'pass' ? '' : ` (${s.why.split('\n')[0] ?? ''})`}\n`
          )
      }
      const measure = stepMeasure(sp, opts, handle, createDriver, fingerprint, io, progress)
      results.push(await searchCapacity(sp.scenario.name, { startRps, maxRps, precision, repeats, slos: opts.slos }, measure, onStep))
    } catch (error) {
      // The searches that finished are still written; the error then decides the exit code.
      stopped = error
      break
    } finally {
      await handle.stop()
    }
  }

  if (results.length > 0) {
    const dir = await writeCapacity(opts, settings, results, fingerprint)
    for (const r of results) io.stdout(`${describeCapacity(r, opts.slos)}\n`)
    io.stderr(`reports: ${path.join(dir, 'capacity.json')}, capacity.md, report.html\n`)
  }
  if (stopped !== null) throw stopped
  return capacityExit(results, settings.minRps, io)
}
