// Journey figures as the reports show them: per step, per iteration, per check and per reason an
// iteration failed, merged over the trials a scenario's row comes from (summarizeJourney in
// harness/stats/summary.ts), so that the terminal, report.md, report.html, junit.xml and the
// baseline report write the same numbers. Percentiles of trials that dropped work are marked as
// lower bounds. Pure functions of the result.
import { latencyLowerBoundOf, summarizeJourney } from '../stats/summary.ts'
import type { JourneySummary, LatencyLowerBound, StepSummary } from '../stats/summary.ts'
import type { RunResult } from '../types.ts'
import { bounded, describeLowerBound, formatCount, formatPercent } from './format.ts'

/** One journey scenario's figures, for one arm of an A/B run or for the run's own trials. */
export interface JourneyView {
  scenario: string
  /** The arm ('A', 'B') of an A/B run; null for a run's own trials. */
  side: string | null
  summary: JourneySummary
  /** Set when some trial behind the figures dropped work: its percentiles are lower bounds. */
  lowerBound: LatencyLowerBound | null
}

/** How a report writes a latency (µs) and a rate (per second). */
export interface JourneyFormats {
  latency(us: number): string
  rps(perS: number): string
}

/** The journey scenarios of a result, in `scenarios` order, one view per arm of an A/B run. */
export function journeyViews(result: RunResult, scenarios: readonly string[] = [...new Set([...result.scenarios, ...result.trials.map((t) => t.scenario)])]): JourneyView[] {
  const views: JourneyView[] = []
  for (const scenario of scenarios) {
    const mine = result.trials.filter((t) => t.scenario === scenario)
    const arms = [...new Set(mine.map((t) => t.arm).filter((arm): arm is 'A' | 'B' => arm !== undefined))].sort()
    for (const side of arms.length === 0 ? [null] : arms) {
      const trials = side === null ? mine : mine.filter((t) => t.arm === side)
      const summary = summarizeJourney(scenario, trials)
      if (summary !== null) views.push({ scenario, side, summary, lowerBound: latencyLowerBoundOf(scenario, trials) })
    }
  }
  return views
}

/** "crud" or "crud, arm A". */
export function viewTitle(view: JourneyView): string {
  return view.side === null ? view.scenario : `${view.scenario}, arm ${view.side}`
}

/** Where the figures come from, e.g. "merged over 2 valid trials". */
export function viewSource(view: JourneyView): string {
  const s = view.summary
  return s.figuresFromInvalidTrials === true
    ? `from ${s.trials} invalid trial(s): shown, never judged`
    : `merged over ${s.trials} valid trial(s); percentiles from merged histograms`
}

export const STEP_COLUMNS: readonly string[] = ['req/s', 'p50', 'p95', 'p99', 'p99.9', 'max', 'error %']

/** A step's (or group's) cells under STEP_COLUMNS. */
export function stepCells(step: StepSummary, f: JourneyFormats, lowerBound: boolean): string[] {
  const l = step.latencyUs
  const lat = (us: number): string => (l.count === 0 ? '—' : bounded(f.latency(us), lowerBound))
  return [f.rps(step.throughputRps), lat(l.p50), lat(l.p95), lat(l.p99), lat(l.p999), lat(l.max), formatPercent(step.errorRate)]
}

export const ITERATION_COLUMNS: readonly string[] = ['iterations/s', 'completed', 'failed', 'dropped', 'iteration p50', 'iteration p99', 'peak VUs']

/** The iterations' cells under ITERATION_COLUMNS. */
export function iterationCells(view: JourneyView, f: JourneyFormats): string[] {
  const it = view.summary.iterations
  const lat = (us: number): string => (it.latencyUs.count === 0 ? '—' : bounded(f.latency(us), view.lowerBound !== null))
  return [
    f.rps(it.throughputPerS),
    formatCount(it.completed),
    formatCount(it.failed),
    formatCount(it.dropped),
    lat(it.latencyUs.p50),
    lat(it.latencyUs.p99),
    formatCount(view.summary.peakVus)
  ]
}

export const CHECK_COLUMNS: readonly string[] = ['check', 'passes', 'failures', 'failure %']

/** One row per check, in the order the journey declared them: name, passes, failures, failure %. */
export function checkRows(summary: JourneySummary): string[][] {
  return Object.entries(summary.checks.byName).map(([name, c]) => [
    name,
    formatCount(c.passes),
    formatCount(c.failures),
    formatPercent(c.passes + c.failures === 0 ? 0 : c.failures / (c.passes + c.failures))
  ])
}

export const FAILURE_COLUMNS: readonly string[] = ['step: why', 'iterations']

/** Why iterations failed, most frequent first. */
export function failureRows(summary: JourneySummary): string[][] {
  return Object.entries(summary.iterations.failures)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([why, n]) => [why, formatCount(n)])
}

/** "0 of 9,682 failed (0.00%)", naming each failing check with its count. */
export function describeChecks(summary: JourneySummary): string {
  const c = summary.checks
  const failing = Object.entries(c.byName)
    .filter(([, counts]) => counts.failures > 0)
    .map(([name, counts]) => `"${name}" ${formatCount(counts.failures)}`)
  return `${formatCount(c.failures)} of ${formatCount(c.passes + c.failures)} failed (${formatPercent(c.failureRate)})${failing.length === 0 ? '' : `: ${failing.join(', ')}`}`
}

/** The terminal's line under the table: iterations, their percentiles, VUs, checks and why they failed. */
export function iterationLine(view: JourneyView, f: JourneyFormats): string {
  const it = view.summary.iterations
  const [perS, completed, failed, dropped, p50, p99, peak] = iterationCells(view, f)
  const checks = view.summary.checks.passes + view.summary.checks.failures === 0 ? '' : `; checks ${describeChecks(view.summary)}`
  const why = failureRows(view.summary)
  const shown = why.slice(0, 3).map(([reason, n]) => `${reason} ×${n}`)
  const reasons = why.length === 0 ? '' : `; failed: ${shown.join(', ')}${why.length > shown.length ? `, and ${why.length - shown.length} more reason(s) in result.json` : ''}`
  const bracket = (text: string): string => (view.summary.figuresFromInvalidTrials === true ? `(${text})` : text)
  return `${viewTitle(view)} iterations: ${bracket(`${perS}/s`)}, ${completed} completed, ${failed} failed, ${dropped} dropped; iteration p50 ${bracket(p50 ?? '—')}, p99 ${bracket(p99 ?? '—')}; peak ${peak} VUs${checks}${reasons}${it.started === 0 ? ' (none started)' : ''}`
}

/** Text made safe for a markdown table cell: no HTML, no pipes or newlines, no emphasis or links. */
export function markdownText(text: string): string {
  return text
    .replace(/[\\`*_[\]~#]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
}

function markdownTable(head: readonly string[], rows: readonly string[][], leftColumns: number): string[] {
  const align = head.map((_, i) => (i < leftColumns ? '---' : '--:'))
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((row) => `| ${row.map((c) => markdownText(c)).join(' | ')} |`)]
}

/** A journey view as markdown: its steps, groups, iterations, checks and failed iterations, and the lower-bound note. */
export function journeyMarkdown(view: JourneyView, f: JourneyFormats): string[] {
  const s = view.summary
  const bound = view.lowerBound !== null
  const lines = [`**Steps** of ${markdownText(viewTitle(view))} (${markdownText(viewSource(view))})`, '']
  lines.push(
    ...markdownTable(
      ['step', ...STEP_COLUMNS],
      s.steps.map((step) => [step.name, ...stepCells(step, f, bound)]),
      1
    ),
    ''
  )
  if (s.groups.length > 0)
    lines.push(
      '**Groups**',
      '',
      ...markdownTable(
        ['group', ...STEP_COLUMNS],
        s.groups.map((g) => [g.name, ...stepCells(g, f, bound)]),
        1
      ),
      ''
    )
  lines.push('**Iterations**', '', ...markdownTable(ITERATION_COLUMNS, [iterationCells(view, f)], 0), '')
  const checks = checkRows(s)
  if (checks.length > 0) lines.push('**Checks**', '', ...markdownTable(CHECK_COLUMNS, checks, 1), '')
  const failures = failureRows(s)
  if (failures.length > 0) lines.push('**Failed iterations**', '', ...markdownTable(FAILURE_COLUMNS, failures, 1), '')
  if (view.lowerBound !== null) lines.push(`_${markdownText(describeLowerBound(viewTitle(view), view.lowerBound))}_`, '')
  return lines
}

/**
 * Which sides of a comparison have lower-bound percentiles: an A/B run's arms from their trials;
 * in a comparison with a baseline file, only the current run's trials are at hand.
 */
export function comparedLowerBounds(result: RunResult, mode: 'baseline' | 'ab', scenario: string): { baseline: boolean; current: boolean } {
  if (mode === 'ab') {
    const arm = (side: 'A' | 'B'): boolean =>
      latencyLowerBoundOf(
        scenario,
        result.trials.filter((t) => t.arm === side)
      ) !== null
    return { baseline: arm('A'), current: arm('B') }
  }
  return { baseline: false, current: latencyLowerBoundOf(scenario, result.trials) !== null }
}
