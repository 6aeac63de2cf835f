// Number formatting shared by the reporters and the one-line verdict, so that every report
// writes the same figure the same way.
import { METRIC_INFO } from '../stats/verdict.ts'
import type { MetricComparison, MetricName, Verdict } from '../types.ts'

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** A metric's value with its unit; latencies past 10 ms switch to ms, as people read them. */
export function formatValue(metric: MetricName, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—'
  switch (METRIC_INFO[metric].unit) {
    case 'req/s':
      return `${grouped.format(value)} req/s`
    case 'µs':
      return value >= 10_000 ? `${(value / 1000).toFixed(1)} ms` : `${grouped.format(value)} µs`
    case '%':
      return `${(value * 100).toFixed(value < 0.001 && value > 0 ? 3 : 2)}%`
    case 'µs/req':
      return `${value.toFixed(value >= 100 ? 0 : 1)} µs/req`
  }
}

/** A change: relative as a signed percentage, absolute (error rate) in percentage points. */
export function formatChange(kind: 'relative' | 'absolute', change: number | null): string {
  if (change === null || !Number.isFinite(change)) return '—'
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±'
  const magnitude = Math.abs(change) * 100
  return kind === 'relative' ? `${sign}${magnitude.toFixed(1)}%` : `${sign}${magnitude.toFixed(2)} pp`
}

export function formatInterval(metric: MetricComparison): string {
  if (metric.interval === null) return '—'
  return `[${formatChange(metric.changeKind, metric.interval.low)}, ${formatChange(metric.changeKind, metric.interval.high)}]`
}

export function formatMargin(metric: Pick<MetricComparison, 'margin' | 'improvementMargin' | 'better' | 'changeKind'>): string {
  const unit = metric.changeKind === 'relative' ? '%' : ' pp'
  const digits = metric.changeKind === 'relative' ? 1 : 2
  if (metric.improvementMargin === undefined || metric.improvementMargin === metric.margin) return `±${(metric.margin * 100).toFixed(digits)}${unit}`
  // Two margins: the band the change may move in, low end first, as the interval is printed.
  const [down, up] = metric.better === 'higher' ? [metric.margin, metric.improvementMargin] : [metric.improvementMargin, metric.margin]
  return `−${(down * 100).toFixed(digits)}${unit} / +${(up * 100).toFixed(digits)}${unit}`
}

export const VERDICT_LABEL: Readonly<Record<Verdict, string>> = Object.freeze({
  regression: 'regression',
  improvement: 'improvement',
  'no-change': 'no change',
  inconclusive: 'inconclusive',
  invalid: 'invalid'
})

export const VERDICT_EMOJI: Readonly<Record<Verdict, string>> = Object.freeze({
  regression: '🔴',
  improvement: '🟢',
  'no-change': '⚪',
  inconclusive: '🟡',
  invalid: '⛔'
})

/**
 * The smallest regression the run could have detected (harness/stats/sensitivity.ts), signed in the bad
 * direction (a fall for throughput), marked when the run was too noisy for twice the margin.
 */
export function formatDetectable(metric: MetricComparison): string {
  const sensitivity = metric.sensitivity
  if (sensitivity === undefined || metric.verdict === 'invalid') return '—'
  if (sensitivity.detectableChange === null) return '⚠️ none'
  const signed = (metric.better === 'higher' ? -1 : 1) * sensitivity.detectableChange
  return `${sensitivity.tooNoisy ? '⚠️ ' : ''}${formatChange(metric.changeKind, signed)}`
}

/** Marks a percentile that is a lower bound: work was dropped, and it would have been the slowest. */
export const LOWER_BOUND_MARK = '≥'

/** A formatted percentile, marked when it is a lower bound. */
export function bounded(text: string, lowerBound: boolean): string {
  return lowerBound && text !== '—' ? `${LOWER_BOUND_MARK} ${text}` : text
}

/** A share (0–1) as a percentage with two decimals, as the tables write error rates. */
export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(2)}%` : '—'
}

/** A count with thousands separators. */
export function formatCount(count: number): string {
  return grouped.format(count)
}

/** The footnote under a table whose percentiles are lower bounds (see latencyLowerBoundOf in harness/stats/summary.ts). */
export function describeLowerBound(scenario: string, bound: { trials: number; of: number; dropped: number; unit: 'iterations' | 'requests' }): string {
  return `${LOWER_BOUND_MARK} ${scenario}: percentiles are lower bounds: ${formatCount(bound.dropped)} ${bound.unit} dropped in ${bound.trials} of ${bound.of} trial(s) (they could not start within the in-flight bound, and they would have waited longest); see result.json (trials[].openModel.dropped)`
}
