// report.md, sized for a pull-request comment and for $GITHUB_STEP_SUMMARY: the one-line verdict
// first, then one line per scenario saying what changed, then each scenario's full table folded in
// <details>. GitHub refuses a comment over 65,536 characters, so the report is built to a budget:
// the most severe scenarios come first, and what does not fit is named as left out (report.html and
// result.json always hold everything). A pure function of the result and its comparison.
import { METRIC_INFO } from '../stats/verdict.ts'
import { SENSITIVITY_METHOD } from '../stats/sensitivity.ts'
import { VERDICT_EMOJI, VERDICT_LABEL, bounded, formatChange, formatDetectable, formatInterval, formatMargin, formatValue } from './format.ts'
import { comparedLowerBounds, journeyMarkdown, journeyViews } from './journey.ts'
import type { JourneyFormats } from './journey.ts'
import { formatLatencyUs, formatRps } from './print-summary.ts'
import type { Comparison, RunResult, ScenarioComparison, Verdict } from '../types.ts'

/** GitHub's limit on an issue or pull-request comment body, in characters. */
export const GITHUB_COMMENT_LIMIT = 65_536

export interface MarkdownOptions {
  /**
   * Most characters (UTF-16 code units, which over-count emoji: a safe side) the report may have.
   * Default: the comment limit less 4,096 for whatever a bot puts around it.
   */
  maxChars?: number
}

/** Order in which scenarios are listed: what fails the gate first. */
const SEVERITY: Readonly<Record<Verdict, number>> = { regression: 0, invalid: 1, inconclusive: 2, improvement: 3, 'no-change': 4 }

/** Pipes and newlines would break a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** HTML inside <summary>: escaped so a scenario name cannot open a tag. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** What a reader of the summary table needs: which metrics moved, or why nothing could be said. */
function whatChanged(scenario: ScenarioComparison): string {
  const gated = scenario.metrics.filter((m) => m.gated)
  const moved = (verdict: Verdict): string[] =>
    gated.filter((m) => m.verdict === verdict).map((m) => `${METRIC_INFO[m.metric].label} ${formatChange(m.changeKind, m.change)} ${formatInterval(m)}`)
  switch (scenario.verdict) {
    case 'regression':
      return [...moved('regression'), ...moved('improvement').map((t) => `(better: ${t})`)].join('; ')
    case 'improvement':
      return moved('improvement').join('; ')
    case 'invalid':
      return scenario.notes[0] ?? gated.find((m) => m.verdict === 'invalid')?.note ?? 'invalid data'
    case 'inconclusive':
      return `undecided: ${gated
        .filter((m) => m.verdict === 'inconclusive')
        .map((m) => METRIC_INFO[m.metric].label)
        .join(', ')}`
    case 'no-change':
      return 'all gated metrics within their margins'
  }
}

const JOURNEY_FORMATS: JourneyFormats = { latency: formatLatencyUs, rps: formatRps }

/**
 * The scenario's table of metrics, then its journey's steps, iterations and checks when it has
 * one; latencies of a side whose trials dropped work are marked as lower bounds.
 */
function scenarioDetails(scenario: ScenarioComparison, comparison: Comparison, sides: readonly [string, string], result: RunResult): string {
  const trialsWord = comparison.mode === 'ab' ? `${scenario.pairs ?? scenario.baselineTrials} pairs` : `${scenario.baselineTrials} vs ${scenario.currentTrials} trials`
  const bounds = comparedLowerBounds(result, comparison.mode, scenario.scenario)
  const lines: string[] = []
  lines.push(`<details><summary>${html(scenario.scenario)} — ${VERDICT_EMOJI[scenario.verdict]} ${VERDICT_LABEL[scenario.verdict]} (${trialsWord})</summary>`, '')
  lines.push(`| metric | ${sides[0]} | ${sides[1]} | delta | ${Math.round(comparison.settings.confidence * 100)}% interval | margin | detectable | p | verdict |`)
  lines.push('|---|---:|---:|---:|---|---:|---:|---:|---|')
  for (const metric of scenario.metrics) {
    const label = `${METRIC_INFO[metric.metric].label}${metric.normalised ? ' ¹' : ''}${metric.gated ? '' : ' (not gated)'}`
    const verdict = `${VERDICT_EMOJI[metric.verdict]} ${VERDICT_LABEL[metric.verdict]}${metric.note ? ` — ${metric.note}` : ''}`
    const latency = METRIC_INFO[metric.metric].unit === 'µs'
    lines.push(
      `| ${cell(label)} | ${bounded(formatValue(metric.metric, metric.baseline), latency && bounds.baseline)} | ${bounded(formatValue(metric.metric, metric.current), latency && bounds.current)} | ${formatChange(metric.changeKind, metric.change)} | ${formatInterval(metric)} | ${formatMargin(metric)} | ${formatDetectable(metric)} | ${metric.pValue === null ? '—' : metric.pValue.toFixed(3)} | ${cell(verdict)} |`
    )
  }
  for (const note of scenario.notes) lines.push('', `_${cell(note)}_`)
  for (const view of journeyViews(result, [scenario.scenario])) lines.push('', ...journeyMarkdown(view, JOURNEY_FORMATS))
  lines.push('', '</details>', '')
  return lines.join('\n')
}

export function renderMarkdown(result: RunResult, comparison: Comparison, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT - 4_096
  const sides = (comparison.mode === 'ab' ? ['A', 'B'] : ['baseline', 'current']) as [string, string]
  const ordered = [...comparison.scenarios].sort((x, y) => SEVERITY[x.verdict] - SEVERITY[y.verdict])

  const head: string[] = [`${VERDICT_EMOJI[comparison.verdict]} **${cell(comparison.headline)}**`, '']
  const describe = (identity: Comparison['baseline']): string =>
    `\`${cell(identity.label)}\`${identity.gitCommit ? ` @ \`${identity.gitCommit.slice(0, 10)}\`` : ''} (${identity.createdAt})`
  const identities = `${sides[0]}: ${describe(comparison.baseline)} · ${sides[1]}: ${describe(comparison.current)} · run \`${cell(result.label)}\``

  const tail: string[] = []
  if (comparison.environment.normalisation !== null) {
    tail.push("¹ normalised by each run's calibration workload (different machines); raw values shown, delta and interval on normalised values.", '')
  }
  const method =
    comparison.mode === 'ab'
      ? 'Paired: per-pair B/A (error rate: B − A), median over pairs, BCa bootstrap over pairs, Wilcoxon signed-rank p.'
      : 'Unit: the trial. Medians of per-trial values; percentiles from merged histograms, interval by resampling trials and merging their histograms; Mann-Whitney U p.'
  tail.push(
    `<sub>${method} Verdict: regression/improvement when the whole interval is past the margin${comparison.settings.requireSignificance ? ` and p < ${(1 - comparison.settings.confidence).toFixed(2)}` : ''}; no change when it lies within the margin (a band of two where a cell shows two); otherwise inconclusive. ${comparison.settings.resamples} resamples, seed ${comparison.settings.seed}. Detectable: ${SENSITIVITY_METHOD}</sub>`,
    ''
  )

  // Reserve room for the closing lines and for the notes of what was left out.
  const reserve = tail.join('\n').length + 400
  let used = head.join('\n').length + reserve
  const body: string[] = []
  const push = (text: string): boolean => {
    if (used + text.length + 1 > maxChars) return false
    body.push(text)
    used += text.length + 1
    return true
  }

  if (comparison.scenarios.length > 0) {
    push('| scenario | verdict | what changed |')
    push('|---|---|---|')
    let listed = 0
    for (const scenario of ordered) {
      // Half the budget at most for the summary table, so some detail always fits.
      if (used > maxChars / 2 || !push(`| ${cell(scenario.scenario)} | ${VERDICT_EMOJI[scenario.verdict]} ${VERDICT_LABEL[scenario.verdict]} | ${cell(whatChanged(scenario))} |`))
        break
      listed++
    }
    if (listed < ordered.length) body.push('', `_…and ${ordered.length - listed} more scenario(s) not listed here, to fit a pull-request comment: see report.html or result.json._`)
    body.push('')
  }
  push(identities)
  push('')
  for (const note of comparison.notes) push(`> ⚠️ ${cell(note)}`)
  if (comparison.notes.length > 0) push('')

  let detailed = 0
  for (const scenario of ordered) {
    if (!push(scenarioDetails(scenario, comparison, sides, result))) break
    detailed++
  }
  if (detailed < ordered.length) {
    body.push(
      `_Details of ${ordered.length - detailed} of ${ordered.length} scenario(s) left out to stay under GitHub's ${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')}-character comment limit: see report.html or result.json._`,
      ''
    )
  }
  return [...head, ...body, ...tail].join('\n')
}
