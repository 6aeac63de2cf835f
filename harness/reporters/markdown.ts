// report.md: the one-line verdict, then one table per scenario. Sized for a pull-request comment
// and for $GITHUB_STEP_SUMMARY. A pure function of the result and its comparison.
import { METRIC_INFO } from '../verdict.ts'
import { SENSITIVITY_METHOD } from '../sensitivity.ts'
import { VERDICT_EMOJI, VERDICT_LABEL, formatChange, formatDetectable, formatInterval, formatMargin, formatValue } from './format.ts'
import type { Comparison, RunResult } from '../types.ts'

/** Pipes and newlines would break a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

export function renderMarkdown(result: RunResult, comparison: Comparison): string {
  const lines: string[] = []
  lines.push(`${VERDICT_EMOJI[comparison.verdict]} **${cell(comparison.headline)}**`, '')
  const sides = comparison.mode === 'ab' ? ['A', 'B'] : ['baseline', 'current']
  const describe = (identity: Comparison['baseline']): string =>
    `\`${cell(identity.label)}\`${identity.gitCommit ? ` @ \`${identity.gitCommit.slice(0, 10)}\`` : ''} (${identity.createdAt})`
  lines.push(`${sides[0]}: ${describe(comparison.baseline)} · ${sides[1]}: ${describe(comparison.current)} · run \`${cell(result.label)}\``, '')
  for (const note of comparison.notes) lines.push(`> ⚠️ ${cell(note)}`)
  if (comparison.notes.length > 0) lines.push('')

  for (const scenario of comparison.scenarios) {
    const trialsWord = comparison.mode === 'ab' ? `${scenario.baselineTrials} pairs` : `${scenario.baselineTrials} vs ${scenario.currentTrials} trials`
    lines.push(`### ${cell(scenario.scenario)} — ${VERDICT_EMOJI[scenario.verdict]} ${VERDICT_LABEL[scenario.verdict]} (${trialsWord})`, '')
    lines.push(`| metric | ${sides[0]} | ${sides[1]} | delta | ${Math.round(comparison.settings.confidence * 100)}% interval | margin | detectable | p | verdict |`)
    lines.push('|---|---:|---:|---:|---|---:|---:|---:|---|')
    for (const metric of scenario.metrics) {
      const label = `${METRIC_INFO[metric.metric].label}${metric.normalised ? ' ¹' : ''}${metric.gated ? '' : ' (not gated)'}`
      const verdict = `${VERDICT_EMOJI[metric.verdict]} ${VERDICT_LABEL[metric.verdict]}${metric.note ? ` — ${metric.note}` : ''}`
      lines.push(
        `| ${cell(label)} | ${formatValue(metric.metric, metric.baseline)} | ${formatValue(metric.metric, metric.current)} | ${formatChange(metric.changeKind, metric.change)} | ${formatInterval(metric)} | ${formatMargin(metric)} | ${formatDetectable(metric)} | ${metric.pValue === null ? '—' : metric.pValue.toFixed(3)} | ${cell(verdict)} |`
      )
    }
    for (const note of scenario.notes) lines.push('', `_${cell(note)}_`)
    lines.push('')
  }

  if (comparison.environment.normalisation !== null) {
    lines.push('¹ normalised by each run\'s calibration workload (different machines); raw values shown, delta and interval on normalised values.', '')
  }
  const method =
    comparison.mode === 'ab'
      ? 'Paired: per-pair B/A (error rate: B − A), median over pairs, BCa bootstrap over pairs, Wilcoxon signed-rank p.'
      : 'Unit: the trial. Medians of per-trial values; percentiles from merged histograms, interval by resampling trials and merging their histograms; Mann-Whitney U p.'
  lines.push(
    `<sub>${method} Verdict: regression/improvement when the whole interval is past the margin${comparison.settings.requireSignificance ? ` and p < ${(1 - comparison.settings.confidence).toFixed(2)}` : ''}; no change when it lies within ±margin; otherwise inconclusive. ${comparison.settings.resamples} resamples, seed ${comparison.settings.seed}. Detectable: ${SENSITIVITY_METHOD}</sub>`,
    ''
  )
  return lines.join('\n')
}
