// SLO test cases for junit.xml: one per scenario × objective, a <failure> when it did not hold.
// `run --slo` writes them alone; `ab --slo` appends them to the comparison's junit.xml.
import { formatSloValue } from './print-summary.ts'
import type { RunResult } from '../types.ts'
import { renderJourneySuites } from './journey-junit.ts'
import { escapeXml } from './xml.ts'

export interface SloSuites {
  xml: string[]
  tests: number
  failures: number
}

export function renderSloSuites(result: RunResult): SloSuites {
  const out: SloSuites = { xml: [], tests: 0, failures: 0 }
  for (const s of result.summary) {
    const cases = s.slo ?? []
    if (cases.length === 0) continue
    const failures = cases.filter((c) => !c.passed).length
    out.tests += cases.length
    out.failures += failures
    out.xml.push(`  <testsuite name="authbench SLO ${escapeXml(s.scenario)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="0">`)
    for (const c of cases) {
      const text = escapeXml(
        `${s.scenario} ${c.expression}: measured ${c.actual === null ? 'nothing' : formatSloValue(c.metric, c.actual)} on the merged histogram of ${s.validTrials} valid trial(s)${c.note === undefined ? '' : ` (${c.note})`}`
      )
      const inner = c.passed ? `<system-out>${text}</system-out>` : `<failure message="${text}" type="slo">${text}</failure>`
      out.xml.push(
        `    <testcase classname="authbench.slo.${escapeXml(s.scenario)}" name="${escapeXml(`${s.scenario} SLO ${c.expression}`)}" time="0">\n      ${inner}\n    </testcase>`
      )
    }
    out.xml.push('  </testsuite>')
  }
  return out
}

/** The junit.xml of `run --slo`: the SLO cases, and a journey's steps and checks as cases of their own. */
export function renderSloJunit(result: RunResult): string {
  const suites = renderSloSuites(result)
  const journeys = renderJourneySuites(result)
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(`authbench ${result.kind} SLO: ${result.label}`)}" tests="${suites.tests + journeys.tests}" failures="${suites.failures}" errors="0" skipped="0">`,
    ...suites.xml,
    ...journeys.xml,
    '</testsuites>',
    ''
  ].join('\n')
}
