// Service-level objectives: `--slo 'p99<20ms'`, `--slo 'errors<0.1%'`, `--slo 'throughput>=1000'`,
// parsed once (a bad expression is a usage error naming it) and checked on a scenario's merged
// figures: percentiles from the merged histogram of its valid trials, never an average of
// per-trial percentiles. A scenario with no valid trial fails every objective: its figures are
// shown elsewhere but never judged.
import { BadOptionError } from '../errors.ts'
import type { ScenarioSummary, SloResult } from '../types.ts'

export type SloMetric = 'p50' | 'p90' | 'p95' | 'p99' | 'p99.9' | 'max' | 'mean' | 'errors' | 'throughput' | 'checks'
export type SloOperator = '<' | '<=' | '>' | '>='

export interface Slo {
  expression: string
  metric: SloMetric
  operator: SloOperator
  /** In the metric's unit: µs for latency, a share (0–1) for errors and checks, req/s for throughput. */
  threshold: number
  /**
   * Which series of a journey it bounds: one step (`step:validate:p99<20ms`), the iterations
   * (`iterations:p99<200ms`); absent, the scenario as a whole.
   */
  series?: { kind: 'step'; step: string } | { kind: 'iterations' }
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
  rps: 'throughput',
  checks: 'checks',
  check_failures: 'checks',
  'check-failures': 'checks'
}

const FORMS =
  "p50|p90|p95|p99|p99.9|max|mean <|<=|>|>= N us|ms|s; errors <|<= N% (or a share); checks <|<= N%; throughput|rps >|>= N; a journey's step: step:<name>:<objective>; its iterations: iterations:<objective>"

/** Parses one expression; throws BadOptionError (exit 2) naming it. */
export function parseSlo(raw: string): Slo {
  const trimmed = raw.trim()
  const bad = (why: string): BadOptionError => new BadOptionError(`--slo "${raw}" ${why} (forms: ${FORMS})`)
  // A step's name may hold colons (`GET /items/:id`): the objective is what follows the last one.
  const stepMatch = /^step:(.+):([^:]+)$/.exec(trimmed)
  if (trimmed.startsWith('step:') && stepMatch === null) throw bad('names no step (step:<name>:<objective>, e.g. step:validate:p99<20ms)')
  if (stepMatch !== null || trimmed.startsWith('iterations:')) {
    const inner = parseSlo(stepMatch !== null ? (stepMatch[2] as string) : trimmed.slice('iterations:'.length))
    if (inner.metric === 'checks') throw bad('bounds checks per scenario only (checks<0.1%), not per step or for iterations')
    const series: NonNullable<Slo['series']> = stepMatch !== null ? { kind: 'step', step: (stepMatch[1] as string).trim() } : { kind: 'iterations' }
    return { ...inner, expression: trimmed, series }
  }
  const expression = trimmed
  const m = /^([A-Za-z_.\-0-9]+?)\s*(<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-zµ%/]*)$/.exec(expression)
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
  if (metric === 'errors' || metric === 'checks') {
    if (op === '>' || op === '>=') throw bad(`bounds ${metric} from below; a ${metric === 'errors' ? 'n error' : ' check-failure'} objective is an upper bound (< or <=)`)
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
    case 'checks':
      return s.checks?.failureRate ?? 0
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

/** The series of `summary` an objective bounds: the scenario, one of its steps, or its iterations; null when it has none such. */
function seriesOf(slo: Slo, summary: ScenarioSummary): ScenarioSummary | null {
  if (slo.series === undefined) return summary
  if (slo.series.kind === 'iterations') return summary.iterations ?? null
  return summary.steps?.[slo.series.step] ?? null
}

/**
 * Checks every objective on one scenario's summary. An objective on a step or on iterations is
 * left out for a scenario that has no such series (a fixed-request scenario beside a journey).
 */
export function checkSlos(slos: readonly Slo[], summary: ScenarioSummary): SloResult[] {
  return slos.flatMap((slo): SloResult[] => {
    const base = { expression: slo.expression, metric: slo.metric, thresholdValue: slo.threshold, ...(slo.series?.kind === 'step' ? { step: slo.series.step } : {}) }
    const series = seriesOf(slo, summary)
    if (series === null) return []
    if (summary.validTrials === 0) return [{ ...base, actual: null, passed: false, note: 'no valid trial: nothing to judge' }]
    const actual = measured(slo.metric, series)
    return [{ ...base, actual, passed: holds(slo.operator, actual, slo.threshold) }]
  })
}

/**
 * Adds `slo` to every summary; true when every objective of every scenario held. An objective on
 * a step that no scenario has is a usage error naming the steps there are: a typo must not pass.
 */
export function applySlos(slos: readonly Slo[], summaries: ScenarioSummary[]): boolean {
  if (slos.length === 0) return true
  for (const slo of slos) {
    if (slo.series === undefined || summaries.some((s) => seriesOf(slo, s) !== null)) continue
    const steps = [...new Set(summaries.flatMap((s) => Object.keys(s.steps ?? {})))]
    const what = slo.series.kind === 'step' ? `step "${slo.series.step}"` : 'iterations'
    throw new BadOptionError(`--slo "${slo.expression}": no scenario of this run has ${what} (${steps.length === 0 ? 'no journey ran' : `steps: ${steps.join(', ')}`})`)
  }
  let ok = true
  for (const s of summaries) {
    s.slo = checkSlos(slos, s)
    if (s.slo.some((r) => !r.passed)) ok = false
  }
  return ok
}
