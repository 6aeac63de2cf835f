// The end-of-run summary: a pure function of the RunResult (no clock, no terminal), so the same
// file always prints the same table and a fixture test pins it down.
import Table from 'cli-table3'
import { latencyLowerBoundOf } from '../stats/summary.ts'
import type { RunResult, ScenarioSummary, TrialResult } from '../types.ts'
import { bounded, describeLowerBound } from './format.ts'
import { iterationLine, journeyViews, stepCells } from './journey.ts'
import type { JourneyFormats, JourneyView } from './journey.ts'

export function formatLatencyUs(us: number): string {
  if (us < 1_000) return `${(us / 1_000).toFixed(3)} ms`
  if (us < 10_000) return `${(us / 1_000).toFixed(2)} ms`
  if (us < 1_000_000) return `${(us / 1_000).toFixed(1)} ms`
  return `${(us / 1_000_000).toFixed(2)} s`
}

export function formatRps(rps: number): string {
  return rps >= 100 ? Math.round(rps).toLocaleString('en-US') : rps.toFixed(1)
}

function validityCell(s: ScenarioSummary, trials: readonly TrialResult[]): string {
  const invalid = trials.filter((t) => t.scenario === s.scenario && t.validity.state === 'invalid')
  const codes = [...new Set(invalid.map((t) => (t.validity.state === 'invalid' ? t.validity.code : '')))]
  if (s.trials === 0) return 'not run'
  if (invalid.length === 0) return `valid ${s.validTrials}/${s.trials}`
  const shown = s.figuresFromInvalidTrials === true ? "; figures are the invalid trials', not judged" : ''
  return `${s.validTrials === 0 ? 'INVALID' : 'partly valid'} ${s.validTrials}/${s.trials} (${codes.join(', ')}${shown})`
}

/** Figures of invalid trials are shown (a reader should see what a saturated server did), in brackets. */
function marked(s: ScenarioSummary, text: string): string {
  return s.figuresFromInvalidTrials === true ? `(${text})` : text
}

const TERMINAL: JourneyFormats = { latency: formatLatencyUs, rps: formatRps }

/** The scenario's row: its merged figures, percentiles marked when they are lower bounds. */
function scenarioRow(s: ScenarioSummary, result: RunResult): string[] {
  const none = s.validTrials === 0 && s.figuresFromInvalidTrials !== true
  const lowerBound = latencyLowerBoundOf(s.scenario, result.trials) !== null
  const lat = (us: number): string => (none ? '—' : marked(s, bounded(formatLatencyUs(us), lowerBound)))
  return [
    s.scenario,
    none ? '—' : marked(s, formatRps(s.throughputRps)),
    lat(s.latencyUs.p50),
    lat(s.latencyUs.p95),
    lat(s.latencyUs.p99),
    lat(s.latencyUs.p999),
    lat(s.latencyUs.max),
    none ? '—' : marked(s, `${(s.errorRate * 100).toFixed(2)}%`),
    s.cpuUsPerRequest === null ? '—' : marked(s, s.cpuUsPerRequest.toFixed(1)),
    validityCell(s, result.trials)
  ]
}

/** A journey's step rows, indented under the scenario's row (the arm named for an A/B run). */
function stepRows(view: JourneyView): string[][] {
  const bracket = (text: string): string => (view.summary.figuresFromInvalidTrials === true ? `(${text})` : text)
  const arm = view.side === null ? '' : ` (${view.side})`
  return view.summary.steps.map((step) => [`  › ${step.name}${arm}`, ...stepCells(step, TERMINAL, view.lowerBound !== null).map(bracket), '', ''])
}

/** The summary table and the notes under it (journeys' iterations, lower bounds, invalid trials' reasons, abort, calibration). */
export function formatSummary(result: RunResult): string {
  const table = new Table({
    head: ['scenario', 'req/s', 'p50', 'p95', 'p99', 'p99.9', 'max', 'error %', 'CPU µs/req', 'validity'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [] }
  })
  const views = journeyViews(
    result,
    result.summary.map((s) => s.scenario)
  )
  for (const s of result.summary) {
    table.push(scenarioRow(s, result))
    for (const view of views.filter((v) => v.scenario === s.scenario)) table.push(...stepRows(view))
  }
  // The variant and the target's options are said only when known: a service may have none.
  const env = result.environment
  const about = [env.variant === null ? null : `variant ${env.variant}`, ...Object.entries(env.targetOptions).map(([name, value]) => `${name} ${value}`)].filter((x) => x !== null)
  const lines = [`authbench ${result.kind} "${result.label}"${about.length === 0 ? '' : ` (${about.join(', ')})`}`, table.toString()]
  for (const view of views) lines.push(`  ${iterationLine(view, TERMINAL)}`)
  for (const s of result.summary) {
    const bound = latencyLowerBoundOf(s.scenario, result.trials)
    if (bound !== null) lines.push(`  ${describeLowerBound(s.scenario, bound)}`)
  }
  if (result.summary.some((s) => s.figuresFromInvalidTrials === true))
    lines.push('  (figures in brackets) come from invalid trials: shown for the reader, never judged by compare or ab')
  for (const t of result.trials) {
    if (t.validity.state === 'invalid') lines.push(`  ${t.scenario} trial ${t.trial + 1} invalid (${t.validity.code}): ${firstLine(t.validity.reason)}`)
    else if (t.openModel !== undefined)
      lines.push(`  ${t.scenario} trial ${t.trial + 1} open model: ${openModelLine(t.openModel, t.journey === undefined ? 'req/s' : 'iterations/s')}`)
  }
  noteLines(result, lines)
  return `${lines.join('\n')}\n`
}

/** SLO outcomes, the calibration and an abort, under the table. */
function noteLines(result: RunResult, lines: string[]): void {
  for (const s of result.summary) {
    for (const o of s.slo ?? [])
      lines.push(
        `  SLO ${o.passed ? 'met' : 'FAILED'}: ${s.scenario} ${o.expression} (measured ${o.actual === null ? 'nothing' : formatSloValue(o.metric, o.actual)})${o.note === undefined ? '' : `; ${o.note}`}`
      )
  }
  if (result.calibration !== null) {
    const cpu = result.calibration.cpuUsPerRequest === null ? '' : `, ${result.calibration.cpuUsPerRequest.toFixed(1)} CPU µs/req`
    lines.push(`  calibration (raw HTTP GET of the readiness path): ${formatRps(result.calibration.throughputRps)} req/s${cpu}`)
  }
  if (result.aborted !== null) lines.push(`  RUN ABORTED (${result.aborted.code}): ${firstLine(result.aborted.reason)}; ${result.trials.length} trial(s) kept`)
}

/** A journey's open model schedules iterations, so its rates are iterations per second. */
function openModelLine(o: NonNullable<TrialResult['openModel']>, unit: 'req/s' | 'iterations/s'): string {
  const dropped = o.scheduled > 0 ? o.dropped / o.scheduled : 0
  return `offered ${formatRps(o.targetRps)} ${unit}, completed ${formatRps(o.completedRps ?? 0)} ${unit}, dropped ${(dropped * 100).toFixed(2)}%, late ${(o.lateShare * 100).toFixed(2)}%, in flight ≤ ${o.maxInFlight ?? '?'}, generator CPU ${((o.generatorCpuShare ?? 0) * 100).toFixed(0)}%, lag p99 ${o.eventLoopLagP99Ms.toFixed(1)} ms`
}

/** An SLO's measured value in its own unit: µs for percentiles, a share for errors, req/s for throughput. */
export function formatSloValue(metric: string, value: number): string {
  if (metric === 'errors') return `${(value * 100).toFixed(3)}%`
  if (metric === 'throughput') return `${formatRps(value)} req/s`
  return formatLatencyUs(value)
}

/** Reasons can carry a target's stderr tail; the table notes keep their first line. */
function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? ''
}

/** One trial on one line, for the progress of multi-trial commands (ab, phases). */
export function describeTrial(t: TrialResult): string {
  const v = t.validity.state === 'valid' ? 'valid' : `INVALID ${t.validity.code}: ${t.validity.reason}`
  const cpu = t.server?.cpuUsPerRequest
  return `${Math.round(t.throughputRps)} req/s, p50 ${(t.latencyUs.p50 / 1000).toFixed(2)} ms, p99 ${(t.latencyUs.p99 / 1000).toFixed(2)} ms, ${cpu == null ? '—' : cpu.toFixed(1)} µs/req CPU, ${v}`
}
