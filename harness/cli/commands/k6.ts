// `authbench run --driver k6` and `authbench import-k6`: run a scenario's k6 script with a local
// k6 binary (v0.57+, which runs .ts scripts natively) and import its summary, or import summaries
// k6 wrote elsewhere (k6-operator runners), into a result file `compare` and `ab` read.
// Returns exit codes like `run`: 0 done, 1 a k6 threshold failed or k6 failed, 2 bad input or no k6.
import { spawn } from 'node:child_process'
import { constants as fsConstants } from 'node:fs'
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_LOAD } from '../../api.ts'
import { loadConfig, scenarioByName } from '../../config.ts'
import { BadOptionError, K6MissingError, K6SummaryError, describeError, isAuthbenchError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { collectFingerprint } from '../../engine/fingerprint.ts'
import { importK6Summary, mergeRunnerTrials } from '../../importers/k6.ts'
import { assertLoopback } from '../../engine/loopback.ts'
import { resultDirName, writeResult } from '../../result-io.ts'
import type { LoadSettings, RunResult, TrialResult } from '../../types.ts'
import { buildRunResult } from '../../engine/run-result.ts'
import type { CommandIo } from '../io.ts'

/** Oldest k6 that strips TypeScript without a compatibility flag. */
export const MIN_K6_VERSION = Object.freeze({ major: 0, minor: 57, patch: 0 })
/** First k6 with `--new-machine-readable-summary`. */
export const NEW_SUMMARY_K6_VERSION = Object.freeze({ major: 1, minor: 5, patch: 0 })

/** A baseline's figures, in the harness's units, passed to the script as BASELINE_* variables. */
export interface BaselineFigures {
  p50Us?: number
  p95Us?: number
  p99Us?: number
  errorRate?: number
}

export interface SemVer {
  major: number
  minor: number
  patch: number
}

/** `k6 version` prints e.g. "k6 v0.57.0 (go1.23.4, linux/amd64)" or "k6 v1.2.3 (commit/…)". */
export function parseK6Version(text: string): SemVer | null {
  const m = /\bk6\s+v?(\d+)\.(\d+)\.(\d+)/.exec(text) ?? /\bv(\d+)\.(\d+)\.(\d+)/.exec(text)
  if (m === null) return null
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) }
}

export function atLeast(v: SemVer, min: SemVer): boolean {
  if (v.major !== min.major) return v.major > min.major
  if (v.minor !== min.minor) return v.minor > min.minor
  return v.patch >= min.patch
}

const formatVersion = (v: SemVer): string => `${v.major}.${v.minor}.${v.patch}`

/** The first executable `k6` on PATH (PATHEXT on Windows), or null. Spawns nothing. */
export async function findK6OnPath(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '')
  const names = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').map((ext) => `k6${ext.toLowerCase()}`) : ['k6']
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = path.join(dir, name)
      try {
        await access(candidate, fsConstants.X_OK)
        return candidate
      } catch {
        // Not here: try the next directory.
      }
    }
  }
  return null
}

interface Spawned {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
}

function run(
  binary: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; onStderr?: (text: string) => void; onStdout?: (text: string) => void; signal?: AbortSignal }
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      options.onStdout?.(chunk)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => options.onStderr?.(chunk))
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout }))
  })
}

export interface K6Binary {
  path: string
  version: SemVer
}

/** Finds k6 and checks its version; throws K6MissingError saying what is wrong. */
export async function locateK6(env: NodeJS.ProcessEnv = process.env, explicitPath?: string): Promise<K6Binary> {
  const binary = explicitPath ?? (await findK6OnPath(env))
  if (binary === null) {
    throw new K6MissingError(
      `k6 is not installed (no executable "k6" on PATH). Install k6 v${formatVersion(MIN_K6_VERSION)} or later (https://grafana.com/docs/k6/latest/set-up/install-k6/), or run the scenarios with the built-in drivers: authbench run`
    )
  }
  let out: Spawned
  try {
    out = await run(binary, ['version'], { env })
  } catch (error) {
    throw new K6MissingError(`could not run "${binary} version": ${(error as Error).message}`)
  }
  const version = parseK6Version(out.stdout)
  if (version === null) throw new K6MissingError(`"${binary} version" printed no version: ${out.stdout.trim().slice(0, 200)}`)
  if (!atLeast(version, MIN_K6_VERSION)) {
    throw new K6MissingError(`k6 v${formatVersion(version)} at ${binary} is too old: v${formatVersion(MIN_K6_VERSION)} or later runs the TypeScript scripts natively`)
  }
  return { path: binary, version }
}

export interface K6RunOptions {
  /** The scenario's name, as results call it. */
  scenario: string
  /** The k6 script to run; default: the scenario's `k6Script` in the config. */
  script?: string
  url: string
  allowRemote?: boolean
  model?: 'open' | 'closed'
  /** Open model: arrivals per second. */
  rateRps?: number
  /** Closed model: VUs; open model: pre-allocated VUs. */
  vus?: number
  /** Open model: most VUs k6 may use. */
  maxVus?: number
  durationMs?: number
  /** k6 runs, one trial each (compare needs at least 3). */
  trials?: number
  label?: string
  outDir?: string
  /** Baseline figures: k6 thresholds become baseline × (1 + the gate's margin). */
  baseline?: BaselineFigures
  /** 'legacy' (default): `--summary-export` with per-threshold results and p(99)/p(99.9). 'machine-readable': k6 ≥ 1.5's v1 summary. */
  summaryFormat?: 'legacy' | 'machine-readable'
  errorRateThreshold?: number
  /** Where to look for k6 (PATH) and what k6 inherits; defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** Use this k6 instead of searching PATH. */
  k6Path?: string
  json?: boolean
}

function k6Duration(durationMs: number): string {
  return durationMs % 1000 === 0 ? `${durationMs / 1000}s` : `${durationMs}ms`
}

function checkRunOptions(opts: K6RunOptions): Required<Pick<K6RunOptions, 'model' | 'durationMs' | 'trials' | 'vus' | 'rateRps'>> {
  if (opts.script === undefined) throw new BadOptionError(`scenario "${opts.scenario}" has no k6 script (set k6Script in its defineScenario)`)
  const model = opts.model ?? (opts.rateRps === undefined ? 'closed' : 'open')
  const durationMs = opts.durationMs ?? DEFAULT_LOAD[model].durationMs
  const trials = opts.trials ?? 1
  const vus = opts.vus ?? DEFAULT_LOAD[model].connections
  const rateRps = opts.rateRps ?? DEFAULT_LOAD.open.rateRps
  if (!Number.isInteger(durationMs) || durationMs < 100) throw new BadOptionError(`--duration must be at least 100 ms; got ${durationMs}`)
  if (!Number.isInteger(trials) || trials < 1 || trials > 1000) throw new BadOptionError(`--trials must be an integer from 1 to 1000; got ${trials}`)
  if (!Number.isInteger(vus) || vus < 1) throw new BadOptionError(`--connections (VUs) must be a positive integer; got ${vus}`)
  if (!Number.isInteger(rateRps) || rateRps < 1) throw new BadOptionError(`--rate must be a positive integer; got ${rateRps}`)
  if (opts.maxVus !== undefined && (!Number.isInteger(opts.maxVus) || opts.maxVus < vus)) throw new BadOptionError(`max VUs must be an integer ≥ the VUs (${vus})`)
  return { model, durationMs, trials, vus, rateRps }
}

/** The `k6 run` arguments for one trial. Exposed for tests. */
export function k6RunArgs(opts: K6RunOptions, summaryFile: string, k6Version: SemVer): string[] {
  const { model, durationMs, vus, rateRps } = checkRunOptions(opts)
  const env: Record<string, string> = {
    BASE_URL: opts.url.replace(/\/+$/, ''),
    MODEL: model,
    RATE: String(rateRps),
    VUS: String(vus),
    DURATION: k6Duration(durationMs)
  }
  if (opts.maxVus !== undefined) env.MAX_VUS = String(opts.maxVus)
  const b = opts.baseline ?? {}
  if (b.p50Us !== undefined) env.BASELINE_P50_US = String(b.p50Us)
  if (b.p95Us !== undefined) env.BASELINE_P95_US = String(b.p95Us)
  if (b.p99Us !== undefined) env.BASELINE_P99_US = String(b.p99Us)
  if (b.errorRate !== undefined) env.BASELINE_ERROR_RATE = String(b.errorRate)
  const args = ['run', '--quiet', '--summary-export', summaryFile]
  if (opts.summaryFormat === 'machine-readable') {
    if (!atLeast(k6Version, NEW_SUMMARY_K6_VERSION)) {
      throw new BadOptionError(`the machine-readable summary needs k6 v${formatVersion(NEW_SUMMARY_K6_VERSION)} or later; this k6 is v${formatVersion(k6Version)}`)
    }
    args.push('--new-machine-readable-summary')
  }
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`)
  args.push(opts.script as string)
  return args
}

/** k6 exits 99 when a threshold failed: the run itself completed and its summary is valid. */
const K6_EXIT_THRESHOLDS_FAILED = 99

function loadSettings(opts: K6RunOptions): LoadSettings {
  const { model, durationMs, vus, rateRps } = checkRunOptions(opts)
  return {
    model,
    durationMs,
    warmupMs: 0,
    connections: vus,
    pipelining: 1,
    rateRps: model === 'open' ? rateRps : null,
    maxRequests: null,
    // k6's default request timeout.
    timeoutMs: 60_000
  }
}

function runResult(label: string, scenario: string, load: LoadSettings, trials: TrialResult[]): RunResult {
  return buildRunResult({
    kind: 'run',
    label,
    createdAt: new Date().toISOString(),
    fingerprint: collectFingerprint({ variant: null, driver: 'k6' }),
    targetConfig: null,
    cpuPinning: { target: null, generator: null },
    scenarios: [{ scenario: { name: scenario }, load }],
    trials,
    calibration: null,
    aborted: null
  })
}

async function writeAndReport(result: RunResult, outDir: string, io: CommandIo, json: boolean): Promise<string> {
  const dir = path.resolve(outDir, resultDirName(new Date(result.createdAt), result.label))
  const file = path.join(dir, 'result.json')
  const problems = await writeResult(file, result)
  for (const p of problems) io.stderr(`warning: result does not match the schema: ${p}\n`)
  if (json) io.stdout(`${JSON.stringify(result, null, 2)}\n`)
  // With --json, stdout holds the JSON document only; the per-trial lines move to stderr.
  const say = json ? io.stderr : io.stdout
  for (const t of result.trials) {
    const failed = t.k6?.thresholds.filter((x) => !x.passed) ?? []
    say(
      `${t.scenario} trial ${t.trial + 1} (k6): ${Math.round(t.throughputRps)} req/s, p95 ${(t.latencyUs.p95 / 1000).toFixed(2)} ms, ` +
        `${(t.errorRate * 100).toFixed(2)}% errors, ${t.validity.state === 'valid' ? 'valid' : `INVALID ${t.validity.code}`}` +
        `${failed.length > 0 ? `, thresholds FAILED: ${failed.map((x) => `${x.metric} ${x.expression}`).join('; ')}` : ''}\n`
    )
  }
  io.stderr(`result written to ${path.relative(process.cwd(), file) || file}\n`)
  return file
}

/** Registered errors print and exit by the registry; anything else is a bug and propagates. */
function usageOrThrow(error: unknown, io: CommandIo): number {
  if (!isAuthbenchError(error)) throw error
  const { message, exitCode } = describeError(error)
  io.stderr(`authbench: ${message}\n`)
  return exitCode
}

/**
 * Runs the scenario's k6 script (its `k6Script`) with k6 `trials` times against `url` and writes
 * <outDir>/<timestamp>-<label>/result.json (the k6 summaries are kept beside it).
 * Exit code: 0 done; 1 a k6 threshold failed or k6 failed; 2 no k6, too old a k6, remote URL
 * without allowRemote, or bad options; 130 aborted.
 */
export async function k6RunCommand(opts: K6RunOptions, io: CommandIo): Promise<number> {
  if (opts.script === undefined) {
    try {
      const script = scenarioByName(await loadConfig(), opts.scenario).k6Script
      if (script !== undefined) opts = { ...opts, script }
    } catch (error) {
      return usageOrThrow(error, io)
    }
  }
  let k6: K6Binary
  let load: LoadSettings
  try {
    checkRunOptions(opts)
    await assertLoopback(opts.url, opts.allowRemote ?? false)
    k6 = await locateK6(opts.env ?? process.env, opts.k6Path)
    load = loadSettings(opts)
  } catch (error) {
    return usageOrThrow(error, io)
  }
  const { trials: trialCount } = checkRunOptions(opts)
  const label = opts.label ?? `k6-${opts.scenario}`
  const work = await mkdtemp(path.join(os.tmpdir(), 'authbench-k6-'))
  const trials: TrialResult[] = []
  const summaries: string[] = []
  let thresholdsFailed = false
  try {
    for (let trial = 0; trial < trialCount; trial++) {
      const summaryFile = path.join(work, `summary-${trial}.json`)
      let args: string[]
      try {
        args = k6RunArgs(opts, summaryFile, k6.version)
      } catch (error) {
        return usageOrThrow(error, io)
      }
      const startedAt = new Date().toISOString()
      io.stderr(`authbench: k6 v${formatVersion(k6.version)} ${opts.scenario} trial ${trial + 1}/${trialCount} (${load.model} model)\n`)
      let out: Spawned
      try {
        out = await run(k6.path, args, { env: opts.env ?? process.env, onStderr: io.stderr, onStdout: io.stderr, signal: io.signal })
      } catch (error) {
        if (io.signal?.aborted === true) return exitCodeFor({ stopped: { code: 'AUTHBENCH_ERR_ABORTED' } })
        io.stderr(`authbench: k6 could not be started: ${(error as Error).message}\n`)
        return exitCodeFor({ stopped: { code: 'AUTHBENCH_ERR_DRIVER' } })
      }
      if (out.code !== 0 && out.code !== K6_EXIT_THRESHOLDS_FAILED) {
        io.stderr(`authbench: k6 exited with ${out.code === null ? `signal ${String(out.signal)}` : `code ${out.code}`}; no result written\n`)
        return exitCodeFor({ stopped: { code: io.signal?.aborted === true ? 'AUTHBENCH_ERR_ABORTED' : 'AUTHBENCH_ERR_DRIVER' } })
      }
      let text: string
      try {
        text = await readFile(summaryFile, 'utf8')
      } catch (error) {
        io.stderr(`authbench: k6 finished but wrote no summary to ${summaryFile}: ${(error as Error).message}\n`)
        return exitCodeFor({ stopped: { code: 'AUTHBENCH_ERR_K6_SUMMARY' } })
      }
      summaries.push(text)
      const t = importK6Summary(text, {
        scenario: opts.scenario,
        trial,
        startedAt,
        durationMs: load.durationMs,
        targetRps: load.rateRps,
        k6Version: formatVersion(k6.version),
        errorRateThreshold: opts.errorRateThreshold ?? 0.01,
        file: summaryFile
      })
      if (t.k6?.thresholdsPassed === false) thresholdsFailed = true
      trials.push(t)
    }
    const result = runResult(label, opts.scenario, load, trials)
    const file = await writeAndReport(result, opts.outDir ?? 'reports', io, opts.json ?? false)
    // The raw summaries stay beside the result, so a reader can check what was imported.
    await Promise.all(summaries.map((text, i) => writeFile(path.join(path.dirname(file), `k6-summary-${i}.json`), text)))
    // k6's own thresholds are objectives: a failed one exits 1, as a failed --slo does.
    return exitCodeFor({ objectivesMet: !thresholdsFailed })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

export interface ImportK6Options {
  scenario: string
  /**
   * 'trials' (default): each file is one trial (repeated runs). 'runners': files are k6-operator
   * runner summaries, one directory per distributed run; each directory's files merge into one trial.
   */
  mode?: 'trials' | 'runners'
  /** The configured duration of each run, used when a summary has no clock gauge. */
  durationMs?: number
  model?: 'open' | 'closed'
  rateRps?: number
  vus?: number
  label?: string
  outDir?: string
  errorRateThreshold?: number
  json?: boolean
}

/**
 * `authbench import-k6 <summary.json...> --scenario <name>`: summaries written by k6 elsewhere
 * (e.g. each k6-operator runner's --summary-export) → one result file `compare` reads.
 * Exit code: 0 imported; 1 a k6 threshold had failed; 2 unreadable or not a k6 summary.
 */
export async function importK6Command(files: readonly string[], opts: ImportK6Options, io: CommandIo): Promise<number> {
  try {
    if (files.length === 0) throw new BadOptionError('import-k6 needs at least one k6 summary file')
    if (opts.scenario.trim() === '') throw new BadOptionError('--scenario must name the scenario the summaries measured')
    const model = opts.model ?? (opts.rateRps === undefined ? 'closed' : 'open')
    const load: LoadSettings = {
      model,
      durationMs: opts.durationMs ?? 0,
      warmupMs: 0,
      connections: opts.vus ?? 1,
      pipelining: 1,
      rateRps: model === 'open' ? (opts.rateRps ?? null) : null,
      maxRequests: null,
      timeoutMs: 60_000
    }
    const imported: TrialResult[] = []
    for (const [index, file] of files.entries()) {
      let text: string
      let startedAt: string
      try {
        text = await readFile(file, 'utf8')
        // A summary is written when its run ends; the file's time is the best start we know.
        startedAt = new Date((await stat(file)).mtimeMs - (opts.durationMs ?? 0)).toISOString()
      } catch (error) {
        throw new K6SummaryError(file, `cannot be read: ${(error as Error).message}`, { cause: error })
      }
      imported.push(
        importK6Summary(text, { scenario: opts.scenario, trial: index, startedAt, durationMs: opts.durationMs ?? null, errorRateThreshold: opts.errorRateThreshold ?? 0.01, file })
      )
    }
    let trials: TrialResult[] = imported
    if (opts.mode === 'runners') {
      // One directory per distributed run (TestRun): its runners' summaries make one trial.
      const byDir = new Map<string, TrialResult[]>()
      files.forEach((file, i) => {
        const dir = path.dirname(path.resolve(file))
        byDir.set(dir, [...(byDir.get(dir) ?? []), imported[i] as TrialResult])
      })
      trials = [...byDir.values()].map((runners, trial) => ({ ...mergeRunnerTrials(runners), trial }))
    }
    const result = runResult(opts.label ?? `k6-${opts.scenario}`, opts.scenario, load, trials)
    await writeAndReport(result, opts.outDir ?? 'reports', io, opts.json ?? false)
    return exitCodeFor({ objectivesMet: !trials.some((t) => t.k6?.thresholdsPassed === false) })
  } catch (error) {
    return usageOrThrow(error, io)
  }
}
