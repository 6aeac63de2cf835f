// Imports k6 end-of-test summaries into authbench's result schema, so `compare`, `ab` and the
// reporters work on k6 runs. Three shapes are read, detected from the JSON itself:
//   - `--summary-export` (legacy): metrics with their values inline; a threshold `true` FAILED;
//   - handleSummary()'s data (legacy): metrics with {type, contains, values, thresholds.{ok}};
//   - the machine-readable summary v1 (`--new-machine-readable-summary`, k6 ≥ 1.5): {version,
//     metadata, config, results: {passed, metrics[], checks}}; no per-threshold detail.
// k6 reports no histogram: a trial gets the encoding of an empty one and `source: 'k6'`, its
// latencyUs holds k6's percentiles in integer µs, and whatever k6 did not report is listed in
// `k6.latencyUnreported` rather than made up.
import { K6_METRICS, MEASURED_SUBMETRICS } from '../k6-contract.ts'
import { K6SummaryError } from '../errors.ts'
import { createHistogram, encodeHistogram } from '../stats/recorder.ts'
import type { K6Threshold, K6TrialInfo, LatencySummaryUs, TrialResult, TrialValidity } from '../types.ts'

export type K6SummaryFormat = K6TrialInfo['format']

/** One metric, whatever the format: values keyed as in handleSummary() (rate metrics: rate, passes, fails). */
export interface K6Metric {
  type: 'counter' | 'gauge' | 'rate' | 'trend' | null
  values: Record<string, number>
  thresholds: Array<{ expression: string; passed: boolean }>
}

/** A summary reduced to what the importer reads. */
export interface NormalisedK6Summary {
  format: K6SummaryFormat
  k6Version: string | null
  metrics: Map<string, K6Metric>
  /** results.passed of the v1 summary; null in the legacy formats (thresholds say it there). */
  passed: boolean | null
  /** The whole run, setup included (legacy handleSummary: state.testRunDurationMs; v1: config.duration). */
  runDurationMs: number | null
  /** Multiplier from the file's time unit to ms (handleSummary's options.summaryTimeUnit). */
  timeUnitToMs: number
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function numbers(values: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  if (!isObject(values)) return out
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v
  return out
}

/** Rate metrics: the v1 summary (k6's Go source) writes matches/total; the schema's example passes/fails. */
function normaliseRate(values: Record<string, number>): Record<string, number> {
  const out = { ...values }
  if (out.rate === undefined && out.value !== undefined) out.rate = out.value
  if (out.passes === undefined && out.matches !== undefined) out.passes = out.matches
  if (out.fails === undefined && out.total !== undefined && out.passes !== undefined) out.fails = out.total - out.passes
  return out
}

function metricType(raw: unknown): K6Metric['type'] {
  return raw === 'counter' || raw === 'gauge' || raw === 'rate' || raw === 'trend' ? raw : null
}

/** --summary-export carries no type: infer it from the keys k6 writes for each type. */
function inferType(values: Record<string, number>): K6Metric['type'] {
  if ('passes' in values && 'fails' in values) return 'rate'
  if ('count' in values && 'rate' in values && !('avg' in values)) return 'counter'
  if ('avg' in values || 'med' in values) return 'trend'
  if ('value' in values && 'min' in values && 'max' in values) return 'gauge'
  return null
}

const TIME_UNIT_TO_MS: Readonly<Record<string, number>> = Object.freeze({ '': 1, ms: 1, s: 1000, us: 0.001, µs: 0.001, ns: 0.000001, m: 60_000, h: 3_600_000 })

export function detectK6Format(json: unknown): K6SummaryFormat | null {
  if (!isObject(json)) return null
  if (typeof json.version === 'string' && isObject(json.results)) return 'machine-readable-v1'
  if (!isObject(json.metrics)) return null
  const first = Object.values(json.metrics).find(isObject)
  if (first !== undefined && isObject(first.values)) return 'handle-summary'
  return 'summary-export'
}

/** Parses any of the three shapes; throws K6SummaryError naming the file when it is none of them. */
export function normaliseK6Summary(json: unknown, file = '<k6 summary>'): NormalisedK6Summary {
  const format = detectK6Format(json)
  if (format === null || !isObject(json)) {
    throw new K6SummaryError(file, 'is not a k6 summary (expected --summary-export output, handleSummary() data, or the machine-readable summary v1)')
  }
  const metrics = new Map<string, K6Metric>()
  if (format === 'machine-readable-v1') {
    const results = json.results as Json
    const list = Array.isArray(results.metrics) ? results.metrics : []
    const checks = isObject(results.checks) ? results.checks : {}
    const checkMetrics = Array.isArray(checks.metrics) ? checks.metrics : isObject(checks.metrics) ? Object.values(checks.metrics) : []
    for (const m of [...list, ...checkMetrics]) {
      if (!isObject(m) || typeof m.name !== 'string') continue
      const type = metricType(m.type)
      const values = numbers(m.values)
      metrics.set(m.name, { type, values: type === 'rate' ? normaliseRate(values) : values, thresholds: [] })
    }
    const metadata = isObject(json.metadata) ? json.metadata : {}
    const config = isObject(json.config) ? json.config : {}
    return {
      format,
      k6Version: typeof metadata.k6Version === 'string' ? metadata.k6Version : null,
      metrics,
      passed: typeof results.passed === 'boolean' ? results.passed : null,
      runDurationMs: typeof config.duration === 'number' ? config.duration * 1000 : null,
      timeUnitToMs: 1
    }
  }

  for (const [name, raw] of Object.entries(json.metrics as Json)) {
    if (!isObject(raw)) continue
    if (format === 'handle-summary') {
      const type = metricType(raw.type)
      const values = numbers(raw.values)
      const thresholds = isObject(raw.thresholds) ? Object.entries(raw.thresholds).map(([expression, t]) => ({ expression, passed: isObject(t) && t.ok === true })) : []
      metrics.set(name, { type, values: type === 'rate' ? normaliseRate(values) : values, thresholds })
    } else {
      const values = numbers(raw)
      const type = inferType(values)
      // --summary-export's historical quirk: the boolean is true when the threshold FAILED.
      const thresholds = isObject(raw.thresholds) ? Object.entries(raw.thresholds).map(([expression, failed]) => ({ expression, passed: failed === false })) : []
      metrics.set(name, { type, values: type === 'rate' ? normaliseRate(values) : values, thresholds })
    }
  }
  const state = isObject(json.state) ? json.state : {}
  const options = isObject(json.options) ? json.options : {}
  const unit = typeof options.summaryTimeUnit === 'string' ? options.summaryTimeUnit : ''
  const timeUnitToMs = TIME_UNIT_TO_MS[unit]
  if (timeUnitToMs === undefined) throw new K6SummaryError(file, `unknown summaryTimeUnit "${unit}"`)
  return {
    format,
    k6Version: null,
    metrics,
    passed: null,
    runDurationMs: typeof state.testRunDurationMs === 'number' ? state.testRunDurationMs : null,
    timeUnitToMs
  }
}

export interface K6ImportOptions {
  scenario: string
  /** 0-based trial index. */
  trial?: number
  startedAt?: string
  /** The configured measuring duration; used when the summary has no clock gauge. */
  durationMs?: number | null
  /** Open model: the arrival rate asked for (recorded; k6 gives no late-send figures). */
  targetRps?: number | null
  k6Version?: string | null
  /** A trial with a larger error share is invalid (ERROR_RATE), as in `authbench run`. */
  errorRateThreshold?: number
  /** A trial whose dropped iterations exceed this share of requests is invalid (CLIENT_LIMITED). */
  droppedShareThreshold?: number
  file?: string
}

const LATENCY_FROM_K6: ReadonlyArray<[keyof LatencySummaryUs, string]> = [
  ['min', 'min'],
  ['mean', 'avg'],
  ['p50', 'med'],
  ['p90', 'p(90)'],
  ['p95', 'p(95)'],
  ['p99', 'p(99)'],
  ['p999', 'p(99.9)'],
  ['max', 'max']
]

let emptyHistogramEncoding: string | null = null

/** The encoding of an empty histogram: a k6 trial has no buckets, and none are invented. */
export function emptyHistogram(): string {
  if (emptyHistogramEncoding === null) {
    const h = createHistogram()
    emptyHistogramEncoding = encodeHistogram(h)
    h.destroy()
  }
  return emptyHistogramEncoding
}

function pick(summary: NormalisedK6Summary, preferred: string, fallback: string): K6Metric | undefined {
  return summary.metrics.get(preferred) ?? summary.metrics.get(fallback)
}

function count(summary: NormalisedK6Summary, name: string): number {
  return Math.max(0, Math.round(summary.metrics.get(name)?.values.count ?? 0))
}

/** Requests, and how many succeeded: by an authbench script's failure counters, else its checks, else k6's own http_req_failed. */
function outcomeCounts(summary: NormalisedK6Summary, requestsMetric: K6Metric): { requests: number; successes: number; errors: number } {
  const requests = Math.round(requestsMetric.values.count ?? 0)
  // An authbench script (it emits the clock gauge) counts its own failures by kind: its checks may
  // be more than one per request (a journey's correctness checks), so they cannot say which
  // requests failed. A counter no request added to is absent from the summary: 0.
  if (summary.metrics.has(K6_METRICS.clockMs)) {
    const failed = count(summary, K6_METRICS.unexpectedStatus) + count(summary, K6_METRICS.timeouts) + count(summary, K6_METRICS.transportErrors)
    const successes = Math.min(Math.max(0, requests - Math.round(failed)), requests)
    return { requests, successes, errors: requests - successes }
  }
  const checks = pick(summary, MEASURED_SUBMETRICS.checks, 'checks')
  let successes: number
  if (checks?.values.passes !== undefined) successes = Math.round(checks.values.passes)
  else {
    // Without the scripts' checks, fall back on k6's own notion of failure (status ≥ 400 or none).
    const failed = summary.metrics.get('http_req_failed')?.values.passes ?? 0
    successes = requests - Math.round(failed)
  }
  successes = Math.min(Math.max(0, successes), requests)
  return { requests, successes, errors: requests - successes }
}

/** The measured time, from the best source the summary has (the scripts' clock gauge first). */
function measuredDuration(
  summary: NormalisedK6Summary,
  requestsMetric: K6Metric,
  requests: number,
  options: K6ImportOptions
): { durationMs: number; durationSource: K6TrialInfo['durationSource'] } {
  const clock = summary.metrics.get(K6_METRICS.clockMs)?.values
  if (clock?.min !== undefined && clock.max !== undefined && clock.max > clock.min) return { durationMs: clock.max - clock.min, durationSource: 'clock-gauge' }
  if (options.durationMs != null && options.durationMs > 0) return { durationMs: options.durationMs, durationSource: 'configured' }
  if (summary.runDurationMs !== null && summary.runDurationMs > 0) return { durationMs: summary.runDurationMs, durationSource: 'run-duration' }
  const rate = requestsMetric.values.rate ?? 0
  return { durationMs: rate > 0 ? (requests / rate) * 1000 : 0, durationSource: 'counter-rate' }
}

/** k6's latency statistics in µs; the ones k6 did not report are listed (no format reports stdev). */
function latencyOf(summary: NormalisedK6Summary, durationMetric: K6Metric, requests: number): { latencyUs: LatencySummaryUs; latencyUnreported: Array<keyof LatencySummaryUs> } {
  const toUs = (ms: number): number => Math.max(0, Math.round(ms * summary.timeUnitToMs * 1000))
  const latencyUs: LatencySummaryUs = { count: requests, min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 }
  const latencyUnreported: Array<keyof LatencySummaryUs> = ['stdev']
  for (const [field, stat] of LATENCY_FROM_K6) {
    const ms = durationMetric.values[stat]
    if (ms === undefined) latencyUnreported.push(field)
    else latencyUs[field] = toUs(ms)
  }
  if (durationMetric.values.count !== undefined) latencyUs.count = Math.round(durationMetric.values.count)
  return { latencyUs, latencyUnreported }
}

/** Invalid with no request, too many failures, or too many dropped iterations (the generator set the pace). */
function k6Validity(requests: number, errorRate: number, droppedIterations: number, options: K6ImportOptions): TrialValidity {
  const errorRateThreshold = options.errorRateThreshold ?? 0.01
  const droppedShareThreshold = options.droppedShareThreshold ?? 0.05
  if (requests === 0) return { state: 'invalid', code: 'NO_RESPONSES', reason: 'k6 recorded no measured request' }
  if (errorRate > errorRateThreshold)
    return { state: 'invalid', code: 'ERROR_RATE', reason: `${(errorRate * 100).toFixed(2)}% of requests failed (threshold ${(errorRateThreshold * 100).toFixed(2)}%)` }
  if (droppedIterations > droppedShareThreshold * requests) {
    return {
      state: 'invalid',
      code: 'CLIENT_LIMITED',
      reason: `k6 dropped ${droppedIterations} iterations (no free VU): the generator, not the target, set the pace; raise MAX_VUS`
    }
  }
  return { state: 'valid' }
}

/** One k6 summary → one authbench trial. */
export function k6SummaryToTrial(summary: NormalisedK6Summary, options: K6ImportOptions): TrialResult {
  const file = options.file ?? '<k6 summary>'
  const requestsMetric = pick(summary, MEASURED_SUBMETRICS.requests, 'http_reqs')
  const durationMetric = pick(summary, MEASURED_SUBMETRICS.duration, 'http_req_duration')
  if (requestsMetric === undefined || durationMetric === undefined) {
    throw new K6SummaryError(file, 'has no http_reqs / http_req_duration metric: did the script send HTTP requests?')
  }
  const { requests, successes, errors } = outcomeCounts(summary, requestsMetric)
  const { durationMs, durationSource } = measuredDuration(summary, requestsMetric, requests, options)
  const { latencyUs, latencyUnreported } = latencyOf(summary, durationMetric, requests)
  const thresholds: K6Threshold[] = []
  for (const [metric, m] of summary.metrics) for (const t of m.thresholds) thresholds.push({ metric, expression: t.expression, passed: t.passed })
  const thresholdsPassed = thresholds.length > 0 ? thresholds.every((t) => t.passed) : summary.passed
  const responseBytes = summary.metrics.get(K6_METRICS.responseBytes)?.values.count
  const bytesRead = Math.round(responseBytes ?? summary.metrics.get('data_received')?.values.count ?? 0)
  const droppedIterations = count(summary, 'dropped_iterations')
  const errorRate = requests === 0 ? 0 : errors / requests
  const seeded = summary.metrics.get(K6_METRICS.seeded)?.values.count
  const trial: TrialResult = {
    scenario: options.scenario,
    trial: options.trial ?? 0,
    startedAt: options.startedAt ?? new Date(0).toISOString(),
    durationMs: Math.round(durationMs),
    requests,
    successes,
    errors,
    errorRate,
    throughputRps: durationMs > 0 ? requests / (durationMs / 1000) : 0,
    bytesRead,
    meanResponseBytes: requests === 0 ? 0 : bytesRead / requests,
    latencyUs,
    histogram: emptyHistogram(),
    // k6's summary aggregates: the scripts count unexpected statuses, not which ones.
    errorsByKind: {
      byStatus: {},
      timeouts: count(summary, K6_METRICS.timeouts),
      resets: count(summary, K6_METRICS.transportErrors),
      other: count(summary, K6_METRICS.unexpectedStatus)
    },
    statusCounts: {},
    timeline: [],
    server: null,
    validity: k6Validity(requests, errorRate, droppedIterations, options),
    source: 'k6',
    k6: {
      format: summary.format,
      k6Version: options.k6Version ?? summary.k6Version,
      thresholds,
      thresholdsPassed,
      droppedIterations,
      latencyUnreported,
      durationSource,
      runners: 1
    }
  }
  if (seeded !== undefined) {
    trial.setup = {
      seeded: Math.round(seeded),
      setupMs: Math.round(summary.metrics.get(K6_METRICS.setupMs)?.values.count ?? 0),
      exhaustedRequests: count(summary, K6_METRICS.poolExhausted)
    }
  }
  return trial
}

/** Parses a JSON text and imports it. */
export function importK6Summary(text: string, options: K6ImportOptions): TrialResult {
  const file = options.file ?? '<k6 summary>'
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new K6SummaryError(file, `is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
  return k6SummaryToTrial(normaliseK6Summary(json, file), options)
}

/**
 * The trials of one distributed run (k6-operator `parallelism` runners, each with its own
 * summary) as one trial: counts and bytes add up, throughput adds up, the window is the longest.
 * Percentiles cannot be merged without histograms, so each is the maximum over runners, an upper
 * bound on the true one (a quantile of a union never exceeds the largest part's quantile).
 */
export function mergeRunnerTrials(runners: readonly TrialResult[]): TrialResult {
  const first = runners[0]
  if (first === undefined) throw new K6SummaryError('<runners>', 'no runner summary to merge')
  if (runners.length === 1) return first
  const sum = (f: (t: TrialResult) => number): number => runners.reduce((s, t) => s + f(t), 0)
  const max = (f: (t: TrialResult) => number): number => Math.max(...runners.map(f))
  const requests = sum((t) => t.requests)
  const successes = sum((t) => t.successes)
  const bytesRead = sum((t) => t.bytesRead)
  const durationMs = max((t) => t.durationMs)
  const latencyUs: LatencySummaryUs = {
    count: sum((t) => t.latencyUs.count),
    min: Math.min(...runners.map((t) => t.latencyUs.min)),
    mean: requests === 0 ? 0 : Math.round(sum((t) => t.latencyUs.mean * t.requests) / requests),
    stdev: 0,
    p50: max((t) => t.latencyUs.p50),
    p90: max((t) => t.latencyUs.p90),
    p95: max((t) => t.latencyUs.p95),
    p99: max((t) => t.latencyUs.p99),
    p999: max((t) => t.latencyUs.p999),
    max: max((t) => t.latencyUs.max)
  }
  const unreported = new Set(runners.flatMap((t) => t.k6?.latencyUnreported ?? []))
  const invalid = runners.find((t) => t.validity.state === 'invalid')
  const errors = requests - successes
  const thresholds = runners.flatMap((t) => t.k6?.thresholds ?? [])
  const passedFlags = runners.map((t) => t.k6?.thresholdsPassed ?? null)
  return {
    ...first,
    durationMs,
    requests,
    successes,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    throughputRps: sum((t) => t.throughputRps),
    bytesRead,
    meanResponseBytes: requests === 0 ? 0 : bytesRead / requests,
    latencyUs,
    errorsByKind: {
      byStatus: {},
      timeouts: sum((t) => t.errorsByKind.timeouts),
      resets: sum((t) => t.errorsByKind.resets),
      other: sum((t) => t.errorsByKind.other)
    },
    validity: invalid?.validity ?? { state: 'valid' },
    k6: {
      format: first.k6?.format ?? 'summary-export',
      k6Version: first.k6?.k6Version ?? null,
      thresholds,
      thresholdsPassed: passedFlags.includes(false) ? false : passedFlags.every((p) => p === true) ? true : null,
      droppedIterations: sum((t) => t.k6?.droppedIterations ?? 0),
      latencyUnreported: [...unreported],
      durationSource: first.k6?.durationSource ?? 'configured',
      runners: runners.length
    },
    ...(first.setup === undefined
      ? {}
      : { setup: { seeded: sum((t) => t.setup?.seeded ?? 0), setupMs: max((t) => t.setup?.setupMs ?? 0), exhaustedRequests: sum((t) => t.setup?.exhaustedRequests ?? 0) } })
  }
}

const PERCENTILE_FIELD = Object.freeze({ p50Us: 'p50', p95Us: 'p95', p99Us: 'p99' } as const)

/**
 * For `compare` / `ab` on k6 trials (which have no histogram): the trial's own percentile in µs,
 * or null when k6 did not report it (then the metric must be judged invalid, not 0).
 */
export function k6TrialPercentileUs(trial: TrialResult, metric: keyof typeof PERCENTILE_FIELD): number | null {
  const field = PERCENTILE_FIELD[metric]
  if (trial.k6?.latencyUnreported.includes(field) === true) return null
  return trial.latencyUs[field]
}
