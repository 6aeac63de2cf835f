// Service-level objectives: `--slo 'p99<20ms'`, `--slo 'errors<0.1%'`, `--slo 'throughput>=1000'`,
// parsed once (a bad expression is a usage error naming it) and checked on a scenario's merged
// figures: percentiles from the merged histogram of its valid trials, never an average of
// per-trial percentiles. A scenario with no valid trial fails every objective: its figures are
// shown elsewhere but never judged.
import { BadOptionError } from '../errors.ts'
import type { ScenarioSummary, SloResult } from '../types.ts'

export type SloMetric = 'p50' | 'p90' | 'p95' | 'p99' | 'p99.9' | 'max' | 'mean' | 'errors' | 'throughput'
export type SloOperator = '<' | '<=' | '>' | '>='

export interface Slo {
  expression: string
  metric: SloMetric
  operator: SloOperator
  /** In the metric's unit: µs for latency, a share (0–1) for errors, req/s for throughput. */
  threshold: number
}

const LATENCY_UNIT_US: Record<string, number> = { us: 1, µs: 1, ms: 1_000, s: 1_000_000 }
const LATENCY_METRICS = new Set<SloMetric>(['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'])
const METRIC_ALIASES: Record<string, SloMetric> = {
  p50: 'p50',
  median: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
  'p99.9': 'p99.9',
  p999: 'p99.9',
  max: 'max',
  mean: 'mean',
  avg: 'mean',
  errors: 'errors',
  error_rate: 'errors',
  'error-rate': 'errors',
  errorrate: 'errors',
  throughput: 'throughput',
  rps: 'throughput'
}

const FORMS = 'p50|p90|p95|p99|p99.9|max|mean <|<=|>|>= N us|ms|s; errors <|<= N% (or a share); throughput|rps >|>= N'

/** Parses one expression; throws BadOptionError (exit 2) naming it. */
export function parseSlo(raw: string): Slo {
  const expression = raw.trim()
  const m = /^([A-Za-z_.\-0-9]+?)\s*(<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-zµ%/]*)$/.exec(expression)
  const bad = (why: string): BadOptionError => new BadOptionError(`--slo "${raw}" ${why} (forms: ${FORMS})`)
  if (m === null) throw bad('is not "<metric><op><value>"')
  const [, name, op, num, unitRaw] = m as unknown as [string, string, SloOperator, string, string]
  const metric = METRIC_ALIASES[name.toLowerCase()]
  if (metric === undefined) throw bad(`names no known metric ("${name}")`)
  const value = Number(num)
  const unit = unitRaw.toLowerCase()
  if (LATENCY_METRICS.has(metric)) {
    const scale = LATENCY_UNIT_US[unit === '' ? 'missing' : unit]
    if (scale === undefined) throw bad(`needs a time unit (us, ms or s) for ${metric}`)
    if (op === '>' || op === '>=') throw bad(`bounds ${metric} from below; a latency objective is an upper bound (< or <=)`)
    if (value <= 0) throw bad('must be greater than 0')
    return { expression, metric, operator: op, threshold: value * scale }
  }
  if (metric === 'errors') {
    if (op === '>' || op === '>=') throw bad('bounds errors from below; an error objective is an upper bound (< or <=)')
    if (unit !== '' && unit !== '%') throw bad('takes a percentage (0.1%) or a share (0.001)')
    const share = unit === '%' ? value / 100 : value
    if (share > 1) throw bad('is above 100%')
    return { expression, metric, operator: op, threshold: share }
  }
  if (op === '<' || op === '<=') throw bad('bounds throughput from above; a throughput objective is a lower bound (> or >=)')
  if (unit !== '' && unit !== 'rps' && unit !== '/s' && unit !== 'req/s') throw bad('takes requests per second (e.g. throughput>=1000)')
  return { expression, metric, operator: op, threshold: value }
}

/** Parses every --slo; none given → []. */
export function parseSlos(raw: readonly string[] | undefined): Slo[] {
  return (raw ?? []).map(parseSlo)
}

function measured(metric: SloMetric, s: ScenarioSummary): number {
  switch (metric) {
    case 'errors':
      return s.errorRate
    case 'throughput':
      return s.throughputRps
    case 'p99.9':
      return s.latencyUs.p999
    default:
      return s.latencyUs[metric]
  }
}

function holds(op: SloOperator, actual: number, threshold: number): boolean {
  switch (op) {
    case '<':
      return actual < threshold
    case '<=':
      return actual <= threshold
    case '>':
      return actual > threshold
    case '>=':
      return actual >= threshold
  }
}

/** Checks every objective on one scenario's summary. */
export function checkSlos(slos: readonly Slo[], summary: ScenarioSummary): SloResult[] {
  return slos.map((slo) => {
    const base = { expression: slo.expression, metric: slo.metric, thresholdValue: slo.threshold }
    if (summary.validTrials === 0) return { ...base, actual: null, passed: false, note: 'no valid trial: nothing to judge' }
    const actual = measured(slo.metric, summary)
    return { ...base, actual, passed: holds(slo.operator, actual, slo.threshold) }
  })
}

/** Adds `slo` to every summary; true when every objective of every scenario held. */
export function applySlos(slos: readonly Slo[], summaries: ScenarioSummary[]): boolean {
  if (slos.length === 0) return true
  let ok = true
  for (const s of summaries) {
    s.slo = checkSlos(slos, s)
    if (s.slo.some((r) => !r.passed)) ok = false
  }
  return ok
}
