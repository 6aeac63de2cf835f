// The terminal's per-scenario verdict table for `compare` and `ab`, printed under the headline: one
// row per scenario (and per journey step series), one column per gated metric, each cell the
// change with its interval and the verdict. The same figures as report.md's tables.
import Table from 'cli-table3'
import { METRIC_INFO } from '../stats/verdict.ts'
import type { Comparison, MetricComparison, MetricName, Verdict } from '../types.ts'
import { VERDICT_LABEL, formatChange } from './format.ts'

const SHORT: Readonly<Record<Verdict, string>> = Object.freeze({
  regression: 'REGRESSION',
  improvement: 'better',
  'no-change': 'same',
  inconclusive: '?',
  invalid: 'invalid'
})

function cell(metric: MetricComparison | undefined): string {
  if (metric === undefined) return ''
  if (metric.verdict === 'invalid' || metric.interval === null) return SHORT[metric.verdict]
  const interval = `[${formatChange(metric.changeKind, metric.interval.low)}, ${formatChange(metric.changeKind, metric.interval.high)}]`
  return `${formatChange(metric.changeKind, metric.change)} ${interval} ${SHORT[metric.verdict]}${metric.gated ? '' : ' (not gated)'}`
}

/** The table, or '' when nothing was compared. */
export function formatVerdictTable(comparison: Comparison): string {
  if (comparison.scenarios.length === 0) return ''
  const present = new Set(comparison.scenarios.flatMap((s) => s.metrics.map((m) => m.metric)))
  const metrics = (Object.keys(METRIC_INFO) as MetricName[]).filter((m) => present.has(m))
  const table = new Table({ head: ['scenario', 'verdict', ...metrics.map((m) => METRIC_INFO[m].label)], style: { head: [], border: [] } })
  for (const s of comparison.scenarios) {
    const name = s.part === undefined ? s.scenario : `  › ${s.part.kind === 'step' ? s.part.step : 'iterations'}`
    table.push([name, VERDICT_LABEL[s.verdict], ...metrics.map((m) => cell(s.metrics.find((x) => x.metric === m)))])
  }
  return table.toString()
}
