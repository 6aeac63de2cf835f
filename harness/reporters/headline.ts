// The one-line headline of a comparison, which `compare` and `ab` print and report.md starts with:
// the verdict, the worst gated changes, a tally, and a warning when the run was too noisy to see a
// regression. The statistics (harness/stats/compare.ts) give the figures; this writes them for people.
import { judgeAB, judgeResults, type CompareOptions } from '../stats/compare.ts'
import { METRIC_INFO } from '../stats/verdict.ts'
import type { Comparison, Judgement, MetricComparison, RunResult, ScenarioComparison, Verdict } from '../types.ts'
import { VERDICT_LABEL, formatChange, formatInterval, formatMargin } from './format.ts'

/** The headline of a judgement. An invalid one names why: an invalid scenario's own reason first
 * (the run's notes, such as "different machines", rarely are the reason), else the run's. */
export function headlineOf(judgement: Judgement): string {
  const { verdict, scenarios, mode, notes } = judgement
  const reasons = [
    ...scenarios.filter((scenario) => scenario.verdict === 'invalid').flatMap((scenario) => scenario.notes),
    ...notes,
    ...scenarios.flatMap((scenario) => scenario.notes)
  ]
  return headlineText(verdict, scenarios, mode, reasons)
}

/** The judgement with its headline: what results, reports and the terminal carry. */
export function withHeadline(judgement: Judgement): Comparison {
  const { mode, verdict, exitCode, ...rest } = judgement
  return { mode, verdict, exitCode, headline: headlineOf(judgement), ...rest }
}

/** A run against a stored baseline, unpaired (see judgeResults), with its headline. */
export function compareResults(baseline: RunResult, current: RunResult, options: CompareOptions = {}): Comparison {
  return withHeadline(judgeResults(baseline, current, options))
}

/** Arm B against arm A of one interleaved run, paired (see judgeAB), with its headline. */
export function compareAB(result: RunResult, options: Omit<CompareOptions, 'baselinePath'> = {}): Comparison {
  return withHeadline(judgeAB(result, options))
}

function headlineText(verdict: Verdict, scenarios: readonly ScenarioComparison[], mode: 'baseline' | 'ab', notes: readonly string[]): string {
  const gated = scenarios.flatMap((scenario) => scenario.metrics.filter((metric) => metric.gated).map((metric) => ({ scenario: scenario.scenario, metric })))
  const count = (wanted: Verdict): number => gated.filter((entry) => entry.metric.verdict === wanted).length
  const worst = gated
    .filter((entry) => entry.metric.verdict === verdict)
    .map((entry) => `${entry.scenario} ${METRIC_INFO[entry.metric.metric].label} ${formatChange(entry.metric.changeKind, entry.metric.change)} ${formatInterval(entry.metric)}`)
  const subject = mode === 'ab' ? 'B vs A' : 'current vs baseline'
  const detail = verdict === 'regression' || verdict === 'improvement' ? `: ${worst.slice(0, 3).join('; ')}${worst.length > 3 ? `; +${worst.length - 3} more` : ''}` : ''
  const parts = scenarios.filter((scenario) => scenario.part !== undefined).length
  const over = `${scenarios.length - parts} scenario(s)${parts > 0 ? ` and ${parts} journey step series` : ''}`
  const tally = `${count('regression')} regression, ${count('improvement')} improvement, ${count('no-change')} no change, ${count('inconclusive')} inconclusive, ${count('invalid')} invalid over ${over}`
  const why = verdict === 'invalid' && notes.length > 0 ? ` (${notes[0]})` : ''
  return `authbench ${subject}: ${VERDICT_LABEL[verdict].toUpperCase()}${detail}${why} — ${tally}${blindness(gated)}`
}

/**
 * The headline's warning when the run could not have seen a regression of twice the margin in
 * some gated cell, naming the worst one, so a pass on a noisy machine does not read as a clean bill.
 */
function blindness(gated: ReadonlyArray<{ scenario: string; metric: MetricComparison }>): string {
  const judgedCells = gated.filter((entry) => entry.metric.verdict !== 'invalid' && entry.metric.sensitivity !== undefined)
  const blind = judgedCells.filter((entry) => entry.metric.sensitivity?.tooNoisy === true)
  if (blind.length === 0) return ''
  const ratio = (entry: (typeof blind)[number]): number => (entry.metric.sensitivity?.detectableChange ?? Number.POSITIVE_INFINITY) / entry.metric.margin
  const worst = [...blind].sort((x, y) => ratio(y) - ratio(x))[0] as (typeof blind)[number]
  const sign = (entry: (typeof blind)[number]): number => (entry.metric.better === 'higher' ? -1 : 1)
  const detectable = worst.metric.sensitivity?.detectableChange
  const what =
    detectable === null || detectable === undefined
      ? `${worst.scenario} ${METRIC_INFO[worst.metric.metric].label} could not have been called a regression at all (${worst.metric.sensitivity?.note ?? 'no interval'})`
      : `worst: ${worst.scenario} ${METRIC_INFO[worst.metric.metric].label}, smallest detectable regression ${formatChange(worst.metric.changeKind, sign(worst) * detectable)} against a margin of ${formatMargin(worst.metric)}`
  return `; TOO NOISY to detect a regression of twice the margin in ${blind.length} of ${judgedCells.length} gated cell(s) (${what})`
}
