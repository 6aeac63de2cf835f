// Numbers in every report a person reads are formatted for people: no floating-point noise such
// as "p = 0.125 ≥ 0.050000000000000044". Rendered from a comparison whose figures are not round
// (the baseline against a copy with every trial perturbed by an irrational factor), on the same
// machine and across machines (normalised), and the baseline report itself.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compareResults } from '../../harness/reporters/headline.ts'
import { formatSummary } from '../../harness/reporters/print-summary.ts'
import { renderBaselineReport } from '../../harness/reporters/baseline-report.ts'
import { renderHtml } from '../../harness/reporters/html.ts'
import { renderJunit } from '../../harness/reporters/junit.ts'
import { renderMarkdown } from '../../harness/reporters/markdown.ts'
import type { RunResult } from '../../harness/types.ts'
import { assertResult } from '../../harness/result-io.ts'

const base = assertResult(JSON.parse(readFileSync(new URL('../../reports/baseline.json', import.meta.url), 'utf8')), 'reports/baseline.json')
const perturbed = (machine: boolean): RunResult => ({
  ...base,
  environment: machine ? { ...base.environment, cpuModel: 'Other CPU', hostname: 'other' } : base.environment,
  calibration: base.calibration === null ? null : { ...base.calibration, throughputRps: base.calibration.throughputRps * Math.SQRT1_2 },
  trials: base.trials.map((t, i) => ({ ...t, throughputRps: t.throughputRps * (1 - (Math.PI / 100) * ((i % 5) / 4)) }))
})

/** A run of 5+ decimals in text meant for people (chart data inside <script> is for the browser). */
const NOISE = /\d\.\d{5,}|\de-\d{2,}/
const visible = (html: string): string => html.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '')

describe('human-facing numbers', () => {
  for (const machine of [false, true]) {
    it(`markdown, HTML text, JUnit and the terminal summary carry no float noise (${machine ? 'another machine, normalised' : 'same machine'})`, () => {
      const current = perturbed(machine)
      const comparison = compareResults(base, current)
      const texts: Record<string, string> = {
        markdown: renderMarkdown(current, comparison),
        html: visible(renderHtml(current, comparison, { chartJs: '' })),
        junit: renderJunit(current, comparison)
      }
      texts.summary = formatSummary(current)
      for (const [name, text] of Object.entries(texts)) {
        expect(text.length, name).toBeGreaterThan(100)
        expect(NOISE.exec(text)?.[0] ?? null, `${name}: …${text.slice(Math.max(0, (NOISE.exec(text)?.index ?? 0) - 80), (NOISE.exec(text)?.index ?? 0) + 40)}…`).toBeNull()
      }
    })
  }

  it('the baseline report too', () => {
    const text = renderBaselineReport(perturbed(false), { command: 'npx authbench baseline', resultPath: 'reports/baseline.json' })
    expect(NOISE.exec(text)?.[0] ?? null).toBeNull()
  })
})
