// junit.xml: one test case per scenario × gated metric, so CI systems show the gate natively.
// A regression is a <failure>, invalid data an <error>, an inconclusive metric <skipped> (the
// gate could not decide, which a reader should see rather than a silent pass). Journeys add a
// case per step and per check, with their figures (harness/reporters/journey-junit.ts).
import { METRIC_INFO } from '../stats/verdict.ts'
import { VERDICT_LABEL, formatChange, formatDetectable, formatInterval, formatMargin, formatValue } from './format.ts'
import type { Comparison, MetricComparison, RunResult } from '../types.ts'
import { renderJourneySuites } from './journey-junit.ts'
import { renderSloSuites } from './slo-junit.ts'
import { escapeXml } from './xml.ts'

function describe(metric: MetricComparison): string {
  return `${METRIC_INFO[metric.metric].label}: ${formatValue(metric.metric, metric.baseline)} → ${formatValue(metric.metric, metric.current)}, change ${formatChange(metric.changeKind, metric.change)} ${formatInterval(metric)}, margin ${formatMargin(metric)}, detectable ${formatDetectable(metric)}, p ${metric.pValue === null ? 'n/a' : metric.pValue.toFixed(3)}: ${VERDICT_LABEL[metric.verdict]}${metric.note ? ` (${metric.note})` : ''}`
}

export function renderJunit(result: RunResult, comparison: Comparison): string {
  const suites = comparison.scenarios.map((scenario) => {
    const cases = scenario.metrics.filter((metric) => metric.gated)
    const failures = cases.filter((metric) => metric.verdict === 'regression').length
    const errors = cases.filter((metric) => metric.verdict === 'invalid').length
    const skipped = cases.filter((metric) => metric.verdict === 'inconclusive').length
    const body = cases.map((metric) => {
      const text = escapeXml(describe(metric))
      const open = `    <testcase classname="authbench.${escapeXml(scenario.scenario)}" name="${escapeXml(`${scenario.scenario} ${METRIC_INFO[metric.metric].label}`)}" time="0">`
      let inner = ''
      if (metric.verdict === 'regression') inner = `\n      <failure message="${text}" type="regression">${text}</failure>`
      else if (metric.verdict === 'invalid') inner = `\n      <error message="${text}" type="invalid">${text}</error>`
      else if (metric.verdict === 'inconclusive') inner = `\n      <skipped message="${text}"/>`
      else inner = `\n      <system-out>${text}</system-out>`
      return `${open}${inner}\n    </testcase>`
    })
    return [
      `  <testsuite name="authbench ${escapeXml(scenario.scenario)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="0">`,
      ...body,
      '  </testsuite>'
    ].join('\n')
  })
  const all = comparison.scenarios.flatMap((scenario) => scenario.metrics.filter((metric) => metric.gated))
  // Objectives checked with --slo (ab) are test cases too.
  const slo = renderSloSuites(result)
  // Journeys' steps and checks, as figures (never failures: see journey-junit.ts).
  const journeys = renderJourneySuites(result)
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(`authbench ${comparison.mode === 'ab' ? 'ab' : 'compare'}: ${result.label}`)}" tests="${all.length + slo.tests + journeys.tests}" failures="${all.filter((m) => m.verdict === 'regression').length + slo.failures}" errors="${all.filter((m) => m.verdict === 'invalid').length}" skipped="${all.filter((m) => m.verdict === 'inconclusive').length}">`,
    ...suites,
    ...journeys.xml,
    ...slo.xml,
    '</testsuites>',
    ''
  ].join('\n')
}
