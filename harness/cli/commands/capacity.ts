// `authbench capacity`: the highest offered rate each scenario sustains under the given SLOs
// (harness/engine/capacity.ts searches; this file starts the target, runs each step as a fresh short
// open-model trial through the engine, and writes capacity.json, capacity.md and report.html).
// Exit codes: 0 done, 1 a capacity below --min-rate, 2 bad options (a bad --slo names itself) or
// a search that could not say (the generator's lower bound is below --min-rate, or the run stopped).
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { searchCapacity, type CapacityResult, type CapacityStep } from '../../engine/capacity.ts'
import { driverFor } from '../../engine/drivers/index.ts'
import { Engine, fetchTargetConfig, startTargetHandle, type TargetHandle } from '../../engine/engine.ts'
import { BadOptionError } from '../../errors.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { assertLoopback } from '../../engine/loopback.ts'
import { formatLatencyUs, formatRps } from '../../reporters/print-summary.ts'
import { describeCapacity, renderCapacityHtml, renderCapacityMarkdown } from '../../reporters/capacity.ts'
import { ensureDir, resultDirName } from '../../result-io.ts'
import type { DriverFactory } from '../../engine/engine.ts'
import { pinGenerator, targetProcessOptions } from '../../engine/target-process.ts'
import { parseDurationMs, parseIntOption, parseRunOptions, parseShareOption } from './run-options.ts'
import type { RawRunOptions } from './run-options.ts'
import type { CommandIo } from '../io.ts'
import { EXIT } from '../../errors.ts'
import { loadConfig } from '../../config.ts'
import type { TargetDefinition } from '../../api.ts'

export interface RawCapacityOptions extends Pick<RawRunOptions, 'config' | 'scenario' | 'slo' | 'url' | 'allowRemote' | 'variant' | 'targetEnv' | 'targetOptions' | 'connections' | 'maxInFlight' | 'scenarioParam' | 'errorThreshold' | 'maxLateShare' | 'maxPool' | 'out' | 'label' | 'timeout'> {
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

export async function capacityCommand(raw: RawCapacityOptions, io: CommandIo, runtime: CapacityRuntime = {}): Promise<number> {
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
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const opts = parseRunOptions({
    scenario: raw.scenario, slo: raw.slo, url: raw.url, allowRemote: raw.allowRemote, variant: raw.variant, targetEnv: raw.targetEnv, targetOptions: raw.targetOptions,
    connections: raw.connections, maxInFlight: raw.maxInFlight, scenarioParam: raw.scenarioParam, errorThreshold: raw.errorThreshold, maxLateShare: raw.maxLateShare,
    maxPool: raw.maxPool, timeout: raw.timeout, out: raw.out, label: raw.label ?? `capacity-${(raw.scenario ?? ['all']).join('+').replace(/,/g, '+')}`
  }, config, { rateRps: startRps, durationMs: stepDurationMs, warmupMs })
  if (opts.url !== null) await assertLoopback(opts.url, opts.allowRemote)
  const generatorCpus = opts.url === null ? await pinGenerator() : null
  const target = opts.target
  const progress = raw.progress !== false
  const createDriver = runtime.createDriver ?? ((model) => driverFor(model).create())
  const fingerprint = collectFingerprint({ variant: opts.variant, targetOptions: opts.targetOptions, driver: driverFor('open').name })

  const results: CapacityResult[] = []
  for (const sp of opts.scenarios) {
    if (io.signal?.aborted) break
    // A fresh target per scenario, one for all its steps: the search measures one process.
    const handle: TargetHandle = opts.url !== null
      ? { url: opts.url.replace(/\/+$/, ''), cpuPinning: { target: null, generator: null }, exited: new Promise<Error>(() => undefined), stop: async () => undefined }
      : await startTargetHandle({ ...targetProcessOptions(target as TargetDefinition, opts.targetEnv), pinCpus: generatorCpus === null ? null : 'auto' }, generatorCpus)
    try {
      if (progress) io.stderr(`capacity: ${sp.scenario.name}, objectives ${opts.slos.map((s) => s.expression).join(', ')}, steps of ${stepDurationMs} ms from ${startRps} req/s\n`)
      const measure = async (rateRps: number): Promise<{ trial: NonNullable<Awaited<ReturnType<Engine['run']>>['trials'][number]>; summary: Awaited<ReturnType<Engine['run']>>['summary'][number] }> => {
        const engine = new Engine({
          label: opts.label,
          kind: 'run',
          scenarios: [{ ...sp, load: { ...sp.load, rateRps } }],
          trials: 1,
          restartPerTrial: false,
          errorRateThreshold: opts.errorRateThreshold,
          lateShareThreshold: opts.lateShareThreshold,
          calibration: null,
          maxPoolSize: opts.maxPoolSize,
          setupConcurrency: 16,
          unresponsiveProbes: 3,
          probePath: target?.readiness.path ?? '/',
          fingerprint: { ...fingerprint, cpuPinning: handle.cpuPinning }
        }, { target: { url: handle.url }, createDriver, metrics: null, fetchTargetConfig: (u) => fetchTargetConfig(u, target) })
        engine.on('warning', (w: { message: string }) => { if (progress) io.stderr(`warning: ${w.message}\n`) })
        const result = await engine.run(io.signal)
        const trial = result.trials[0]
        const summary = result.summary[0]
        if (trial === undefined || summary === undefined || result.aborted !== null) {
          throw Object.assign(new Error(`the step at ${rateRps} req/s did not complete${result.aborted === null ? '' : `: ${result.aborted.reason}`}`), { code: result.aborted?.code ?? 'AUTHBENCH_ERR_RUN_FAILED' })
        }
        return { trial, summary }
      }
      const onStep = (s: CapacityStep): void => {
        if (progress) io.stderr(`  ${s.phase.padEnd(6)} ${formatRps(s.rateRps).padStart(8)} req/s → completed ${formatRps(s.completedRps)}, p50 ${formatLatencyUs(s.p50Us)}, p99 ${formatLatencyUs(s.p99Us)}, ${s.outcome}${s.outcome === 'pass' ? '' : ` (${s.why.split('\n')[0] ?? ''})`}\n`)
      }
      results.push(await searchCapacity(sp.scenario.name, { startRps, maxRps, precision, repeats, slos: opts.slos }, measure, onStep))
    } finally {
      await handle.stop()
    }
  }

  const dir = path.resolve(opts.outDir, resultDirName(new Date(), opts.label))
  await ensureDir(dir)
  const settings = { startRps, maxRps, minRps, precision, repeats, stepDurationMs, warmupMs, slos: opts.slos.map((s) => s.expression) }
  await writeFile(path.join(dir, 'capacity.json'), `${JSON.stringify({ tool: 'authbench', kind: 'capacity', label: opts.label, createdAt: new Date().toISOString(), settings, environment: fingerprint, results }, null, 2)}\n`)
  await writeFile(path.join(dir, 'capacity.md'), renderCapacityMarkdown(results, opts.slos, opts.label))
  await writeFile(path.join(dir, 'report.html'), renderCapacityHtml(results, opts.slos, opts.label))
  for (const r of results) io.stdout(`${describeCapacity(r, opts.slos)}\n`)
  io.stderr(`reports: ${path.join(dir, 'capacity.json')}, capacity.md, report.html\n`)

  if (results.length < opts.scenarios.length) return EXIT.INTERRUPTED
  if (minRps === null) return EXIT.OK
  const below = results.filter((r) => r.capacityRps < minRps)
  const known = below.filter((r) => !r.generatorLimited)
  if (known.length > 0) {
    io.stderr(`capacity below --min-rate ${minRps}: ${known.map((r) => `${r.scenario} ${formatRps(r.capacityRps)} req/s`).join(', ')}\n`)
    return EXIT.REGRESSION
  }
  if (below.length > 0) {
    io.stderr(`cannot tell whether ${below.map((r) => r.scenario).join(', ')} reach --min-rate ${minRps}: the load generator's ceiling (${below.map((r) => formatRps(r.capacityRps)).join(', ')} req/s) is below it\n`)
    return EXIT.USAGE
  }
  return EXIT.OK
}
