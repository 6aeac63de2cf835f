// Journey test cases for junit.xml: one per step and one per check of each journey scenario (per
// arm of an A/B run), so that a CI view lists them with their figures. They never hold a
// <failure>: junit.xml's failures are exactly what makes the command exit 1 (a gated regression,
// or a failed --slo objective), and a failed check fails nothing by itself; its count is in the
// case's output, and an objective or the gate is what turns it into a failure.
import { formatLatencyUs, formatRps } from './print-summary.ts'
import { describeChecks, journeyViews, stepCells, viewSource, viewTitle } from './journey.ts'
import type { JourneyFormats, JourneyView } from './journey.ts'
import { formatCount, formatPercent } from './format.ts'
import type { RunResult } from '../types.ts'
import { escapeXml } from './xml.ts'

const FORMATS: JourneyFormats = { latency: formatLatencyUs, rps: formatRps }

export interface JourneySuites {
  xml: string[]
  tests: number
}

function testcase(view: JourneyView, name: string, text: string): string {
  return `    <testcase classname="authbench.journey.${escapeXml(view.scenario)}" name="${escapeXml(name)}" time="0">\n      <system-out>${escapeXml(text)}</system-out>\n    </testcase>`
}

function suite(view: JourneyView): { xml: string[]; tests: number } {
  const title = viewTitle(view)
  const bound = view.lowerBound !== null
  const cases = view.summary.steps.map((step) => {
    const [rps, p50, p95, p99, p999, max, errors] = stepCells(step, FORMATS, bound)
    return testcase(
      view,
      `${title} › ${step.name}`,
      `${title} › ${step.name}: ${rps} req/s, p50 ${p50}, p95 ${p95}, p99 ${p99}, p99.9 ${p999}, max ${max}, errors ${errors} (${formatCount(step.errors)} of ${formatCount(step.requests)}); ${viewSource(view)}${bound ? '; percentiles are lower bounds (work was dropped)' : ''}`
    )
  })
  for (const [name, c] of Object.entries(view.summary.checks.byName)) {
    const total = c.passes + c.failures
    cases.push(
      testcase(
        view,
        `${title} check ${name}`,
        `${title} check "${name}": ${formatCount(c.passes)} passed, ${formatCount(c.failures)} failed (${formatPercent(total === 0 ? 0 : c.failures / total)}); all checks: ${describeChecks(view.summary)}`
      )
    )
  }
  const xml = [`  <testsuite name="authbench journey ${escapeXml(title)}" tests="${cases.length}" failures="0" errors="0" skipped="0" time="0">`, ...cases, '  </testsuite>']
  return { xml, tests: cases.length }
}

/** A suite per journey scenario (and arm) of the result; none for a result without journeys. */
export function renderJourneySuites(result: RunResult): JourneySuites {
  const out: JourneySuites = { xml: [], tests: 0 }
  for (const view of journeyViews(result)) {
    const s = suite(view)
    out.xml.push(...s.xml)
    out.tests += s.tests
  }
  return out
}
