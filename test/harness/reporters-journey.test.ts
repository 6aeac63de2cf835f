// Journeys in every report: the terminal table, report.md, report.html (tables and the steps'
// bars), junit.xml and the baseline report show each step's figures merged over the valid trials
// (percentiles of the merged histograms, never averaged), the iterations and the checks; dropped
// work marks percentiles as lower bounds; a result without journeys shows none of it. The fixture
// is a real run of scratch/proj's three-step journey (2 trials); expected numbers are computed here
// from its histograms with the recorder's helpers.
import { readFileSync } from 'node:fs'
import vm from 'node:vm'
import { XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { compareAB, compareResults } from '../../harness/reporters/headline.ts'
import { renderBaselineReport } from '../../harness/reporters/baseline-report.ts'
import { renderHtml } from '../../harness/reporters/html.ts'
import { renderJunit } from '../../harness/reporters/junit.ts'
import { renderMarkdown } from '../../harness/reporters/markdown.ts'
import { formatLatencyUs, formatRps, formatSummary } from '../../harness/reporters/print-summary.ts'
import { renderSloJunit } from '../../harness/reporters/slo-junit.ts'
import { assertResult, validateResult } from '../../harness/result-io.ts'
import { mergeEncoded, summarizeEncoded } from '../../harness/stats/recorder.ts'
import { median } from '../../harness/stats/stats.ts'
import { latencyLowerBoundOf, summarizeJourney, summarizeSteps } from '../../harness/stats/summary.ts'
import type { LatencySummaryUs, RunResult, TrialResult } from '../../harness/types.ts'
import { makeRun } from '../fixtures/results/build.ts'

const FIXTURE = new URL('../fixtures/results/journey-result.json', import.meta.url).pathname
const STEPS = ['create', 'read', 'delete']
const CHECK = 'name is a'

/** A fresh copy of the fixture, read through the schema as `compare` reads it. */
function load(): RunResult {
  return assertResult(JSON.parse(readFileSync(FIXTURE, 'utf8')), FIXTURE)
}

interface Expected {
  throughputRps: number
  latencyUs: LatencySummaryUs
  requests: number
  errors: number
  errorRate: number
}

/** A step's figures over the trials: counts summed, percentiles of the merged histograms, median throughput. */
function expectedStep(trials: readonly TrialResult[], step: string): Expected {
  const parts = trials.map((t) => t.journey?.steps[step]).filter((s) => s !== undefined)
  const requests = parts.reduce((a, s) => a + s.requests, 0)
  const errors = parts.reduce((a, s) => a + s.errors, 0)
  return {
    throughputRps: median(parts.map((s) => s.throughputRps)),
    latencyUs: summarizeEncoded(mergeEncoded(parts.map((s) => s.histogram))),
    requests,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests
  }
}

function expectedIterations(trials: readonly TrialResult[]): { perS: number; latencyUs: LatencySummaryUs; completed: number; failed: number; dropped: number } {
  const its = trials.map((t) => t.journey?.iterations).filter((i) => i !== undefined)
  return {
    perS: median(its.map((i) => i.throughputPerS)),
    latencyUs: summarizeEncoded(mergeEncoded(its.map((i) => i.histogram))),
    completed: its.reduce((a, i) => a + i.completed, 0),
    failed: its.reduce((a, i) => a + i.failed, 0),
    dropped: its.reduce((a, i) => a + i.dropped, 0)
  }
}

const count = (n: number): string => n.toLocaleString('en-US')
const percent = (share: number): string => `${(share * 100).toFixed(2)}%`

/** The cells the reports write for a step: req/s, p50, p95, p99, p99.9, max, error %. */
function stepCellsOf(e: Expected, mark = ''): string[] {
  const l = e.latencyUs
  return [formatRps(e.throughputRps), ...[l.p50, l.p95, l.p99, l.p999, l.max].map((us) => `${mark}${formatLatencyUs(us)}`), percent(e.errorRate)]
}

/** The table's rows as trimmed cells, keyed by their first cell. */
function terminalRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('│')) continue
    const cells = line.split('│').slice(1, -1)
    // The first cell keeps its indentation, less the table's one space of padding.
    rows.set(
      (cells[0] ?? '').replace(/^ /, '').trimEnd(),
      cells.slice(1).map((c) => c.trim())
    )
  }
  return rows
}

/** With dropped work in trial 0: its figures are lower bounds. */
function withLowerBound(result: RunResult, dropped = 5): RunResult {
  const t = result.trials[0] as TrialResult
  t.latencyLowerBound = true
  if (t.journey !== undefined) t.journey.iterations.dropped = dropped
  return result
}

/** With failed checks and reasons whose text must be escaped in every format. */
function withFailures(result: RunResult): RunResult {
  const t = result.trials[1] as TrialResult
  const journey = t.journey
  if (journey === undefined) throw new Error('fixture trial without a journey')
  const check = journey.checks.byName[CHECK] as { passes: number; failures: number }
  check.failures += 7
  journey.checks.failures += 7
  journey.checks.failureRate = journey.checks.failures / (journey.checks.passes + journey.checks.failures)
  journey.iterations.failed += 4
  journey.iterations.failures = { 'read: status 500 | <b>&': 3, 'create: timeout': 1 }
  return result
}

describe('the journey fixture and the result schema', () => {
  it('validates without a warning, with lower bounds and stages too', () => {
    const result = load()
    expect(validateResult(result)).toEqual([])
    expect(result.trials.map((t) => Object.keys(t.journey?.steps ?? {}))).toEqual([STEPS, STEPS])
    const ramped = withLowerBound(load())
    const load0 = ramped.load.crud
    if (load0 === undefined) throw new Error('fixture without load settings')
    load0.stages = [
      { durationMs: 1000, target: 10 },
      { durationMs: 500, target: 0 }
    ]
    expect(validateResult(ramped)).toEqual([])
  })

  it("refuses a step's unknown field and a malformed stage, naming them", () => {
    const result = load()
    ;(result.trials[0]?.journey?.steps.create as unknown as Record<string, unknown>).bogus = 1
    expect(validateResult(result)).toEqual(['/trials/0/journey/steps/create must NOT have additional properties (bogus)'])
    const staged = load() as unknown as { load: Record<string, Record<string, unknown>> }
    ;(staged.load.crud as Record<string, unknown>).stages = [{ durationMs: 1000 }]
    expect(validateResult(staged).join('; ')).toMatch(/\/load\/crud\/stages\/0 must have required property 'target'/)
  })
})

describe('summarizeJourney (harness/stats/summary.ts)', () => {
  it("merges each step's histograms over the valid trials and sums the counts", () => {
    const result = load()
    const summary = summarizeJourney('crud', result.trials)
    expect(summary?.steps.map((s) => s.name)).toEqual(STEPS)
    for (const step of summary?.steps ?? []) {
      const e = expectedStep(result.trials, step.name)
      expect(step.latencyUs).toEqual(e.latencyUs)
      expect(step.throughputRps).toBe(e.throughputRps)
      expect(step.requests).toBe(e.requests)
      expect(step.errorRate).toBe(e.errorRate)
    }
    expect(summarizeSteps('crud', result.trials)).toEqual(summary?.steps)
    const it = expectedIterations(result.trials)
    expect(summary?.iterations.latencyUs).toEqual(it.latencyUs)
    expect(summary?.iterations.completed).toBe(it.completed)
    expect(summary?.checks.byName[CHECK]?.passes).toBe(result.trials.reduce((a, t) => a + (t.journey?.checks.byName[CHECK]?.passes ?? 0), 0))
    expect(summary?.peakVus).toBe(Math.max(...result.trials.map((t) => t.journey?.peakVus ?? 0)))
  })

  it('leaves out an invalid trial as the scenario row does, and says when all are invalid', () => {
    const result = load()
    const second = result.trials[1] as TrialResult
    second.validity = { state: 'invalid', code: 'ERROR_RATE', reason: 'too many errors' }
    const summary = summarizeJourney('crud', result.trials)
    expect(summary?.trials).toBe(1)
    expect(summary?.steps[0]?.latencyUs).toEqual(summarizeEncoded(result.trials[0]?.journey?.steps.create?.histogram ?? ''))
    for (const t of result.trials) t.validity = { state: 'invalid', code: 'ERROR_RATE', reason: 'too many errors' }
    expect(summarizeJourney('crud', result.trials)?.figuresFromInvalidTrials).toBe(true)
  })

  it('is null without a journey, and counts the dropped work behind lower bounds', () => {
    expect(
      summarizeJourney('health', makeRun({ label: 'x', seed: 1, scenarios: { health: { trials: 2, throughputRps: 100, p50Us: 500, samplesPerTrial: 50 } } }).trials)
    ).toBeNull()
    expect(latencyLowerBoundOf('crud', load().trials)).toBeNull()
    expect(latencyLowerBoundOf('crud', withLowerBound(load(), 9).trials)).toEqual({ trials: 1, of: 2, dropped: 9, unit: 'iterations' })
  })
})

describe('the terminal table', () => {
  it("puts each step's merged figures on an indented row under the scenario's, then the iterations line", () => {
    const result = load()
    const text = formatSummary(result)
    const rows = terminalRows(text)
    expect([...rows.keys()]).toEqual(['scenario', 'crud', ...STEPS.map((s) => `  › ${s}`)])
    for (const step of STEPS) expect(rows.get(`  › ${step}`)).toEqual([...stepCellsOf(expectedStep(result.trials, step)), '', ''])
    const it = expectedIterations(result.trials)
    const checks = result.trials.reduce((a, t) => a + (t.journey?.checks.passes ?? 0), 0)
    const peak = Math.max(...result.trials.map((t) => t.journey?.peakVus ?? 0))
    expect(text).toContain(
      `  crud iterations: ${formatRps(it.perS)}/s, ${count(it.completed)} completed, ${count(it.failed)} failed, ${count(it.dropped)} dropped; iteration p50 ${formatLatencyUs(it.latencyUs.p50)}, p99 ${formatLatencyUs(it.latencyUs.p99)}; peak ${peak} VUs; checks 0 of ${count(checks)} failed (0.00%)\n`
    )
    expect(text).not.toContain('≥')
  })

  it('marks every percentile as a lower bound when a trial dropped work, with a footnote', () => {
    const result = withLowerBound(load())
    const text = formatSummary(result)
    const rows = terminalRows(text)
    expect(
      rows
        .get('crud')
        ?.slice(1, 6)
        .every((c) => c.startsWith('≥ '))
    ).toBe(true)
    expect(rows.get('crud')?.[0]?.startsWith('≥')).toBe(false)
    expect(rows.get('  › read')).toEqual([...stepCellsOf(expectedStep(result.trials, 'read'), '≥ '), '', ''])
    expect(text).toMatch(/iteration p50 ≥ [\d.]+ ms, p99 ≥ [\d.]+ ms/)
    expect(text).toContain('  ≥ crud: percentiles are lower bounds: 5 iterations dropped in 1 of 2 trial(s)')
    expect(text).toContain('see result.json')
  })

  it("says a journey's open-model rates in iterations per second", () => {
    const result = withLowerBound(load())
    const t = result.trials[0] as TrialResult
    t.openModel = { targetRps: 4000, achievedRps: 3990, completedRps: 3961, scheduled: 4000, sent: 3961, lateSends: 16, lateShare: 0.004, dropped: 39, eventLoopLagP99Ms: 0.4 }
    expect(formatSummary(result)).toContain('  crud trial 1 open model: offered 4,000 iterations/s, completed 3,961 iterations/s, dropped 0.97%')
  })

  it('names the failing checks and why iterations failed', () => {
    const text = formatSummary(withFailures(load()))
    expect(text).toMatch(/; checks 7 of [\d,]+ failed \(0\.\d\d%\): "name is a" 7; failed: read: status 500 \| <b>& ×3, create: timeout ×1\n/)
  })
})

describe('report.md', () => {
  it('has the Steps, Iterations and Checks tables inside the scenario, with the merged numbers', () => {
    const result = load()
    const markdown = renderMarkdown(result, compareResults(result, result))
    expect(markdown).toContain('**Steps** of crud (merged over 2 valid trial(s); percentiles from merged histograms)')
    expect(markdown).toContain('| step | req/s | p50 | p95 | p99 | p99.9 | max | error % |')
    for (const step of STEPS) expect(markdown).toContain(`| ${step} | ${stepCellsOf(expectedStep(result.trials, step)).join(' | ')} |`)
    const it = expectedIterations(result.trials)
    const peak = Math.max(...result.trials.map((t) => t.journey?.peakVus ?? 0))
    expect(markdown).toContain('| iterations/s | completed | failed | dropped | iteration p50 | iteration p99 | peak VUs |')
    expect(markdown).toContain(
      `| ${formatRps(it.perS)} | ${count(it.completed)} | ${count(it.failed)} | ${count(it.dropped)} | ${formatLatencyUs(it.latencyUs.p50)} | ${formatLatencyUs(it.latencyUs.p99)} | ${peak} |`
    )
    const passes = result.trials.reduce((a, t) => a + (t.journey?.checks.byName[CHECK]?.passes ?? 0), 0)
    expect(markdown).toContain(`| ${CHECK} | ${count(passes)} | 0 | 0.00% |`)
    expect(markdown).not.toContain('**Failed iterations**')
    // Inside the crud scenario's folded block, before it closes.
    const crud = markdown.indexOf('<details><summary>crud —')
    expect(crud).toBeGreaterThanOrEqual(0)
    expect(markdown.indexOf('**Steps** of crud')).toBeGreaterThan(crud)
    expect(markdown.indexOf('**Steps** of crud')).toBeLessThan(markdown.indexOf('</details>', crud))
  })

  it('marks lower bounds and escapes the failure reasons', () => {
    const result = withFailures(withLowerBound(load()))
    const markdown = renderMarkdown(result, compareResults(load(), result))
    expect(markdown).toContain(`| create | ${stepCellsOf(expectedStep(result.trials, 'create'), '≥ ').join(' | ')} |`)
    expect(markdown).toMatch(/^_≥ crud: percentiles are lower bounds: 5 iterations dropped in 1 of 2 trial\(s\)/m)
    expect(markdown).toContain('| read: status 500 \\| &lt;b&gt;&amp; | 3 |')
    expect(markdown).toContain('| create: timeout | 1 |')
    expect(markdown).toMatch(new RegExp(`\\| ${CHECK} \\| [\\d,]+ \\| 7 \\| 0\\.\\d\\d% \\|`))
  })

  it('shows each arm of an A/B run from its own trials', () => {
    const result = load()
    result.kind = 'ab'
    result.trials.forEach((t, i) => Object.assign(t, { arm: i === 0 ? 'A' : 'B', pair: 0 }))
    const markdown = renderMarkdown(result, compareAB(result))
    for (const [i, arm] of ['A', 'B'].entries()) {
      const mine = [result.trials[i] as TrialResult]
      expect(markdown).toContain(`**Steps** of crud, arm ${arm} (merged over 1 valid trial(s)`)
      expect(markdown).toContain(`| read | ${stepCellsOf(expectedStep(mine, 'read')).join(' | ')} |`)
    }
  })
})

interface FakeCanvas {
  attrs: Record<string, string>
  getAttribute(name: string): string | null
}

interface FakeChart {
  canvas: FakeCanvas
  config: { type: string; data: { labels?: string[]; datasets: Array<{ label: string; data: unknown[] }> }; options: { plugins: { title: { text: string } } } }
}

/** Runs the page's own script against a stand-in Chart and document: the charts it would draw. */
function drawnCharts(html: string): FakeChart[] {
  const unescape = (s: string): string =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
  const canvases: FakeCanvas[] = [...html.matchAll(/<canvas ([^>]*)><\/canvas>/g)].map((m) => {
    const attrs = Object.fromEntries([...(m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] as string, unescape(a[2] as string)]))
    return { attrs, getAttribute: (name: string) => attrs[name] ?? null }
  })
  const json = /<script type="application\/json" id="authbench-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? ''
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '')
  const charts: FakeChart[] = []
  class Chart {
    static defaults = {}
    constructor(canvas: FakeCanvas, config: FakeChart['config']) {
      charts.push({ canvas, config })
    }
  }
  const document = {
    getElementById: (id: string) => (id === 'authbench-data' ? { textContent: json } : (canvases.find((c) => c.attrs.id === id) ?? null)),
    querySelectorAll: (selector: string) => canvases.filter((c) => c.attrs['data-chart'] === /data-chart="([^"]+)"/.exec(selector)?.[1])
  }
  vm.runInNewContext(scripts.at(-1) ?? '', { document, Chart, window: {} })
  return charts
}

describe('report.html', () => {
  it("has the journey's tables and a bar chart of its steps drawn from the very numbers in them", () => {
    const result = load()
    const html = renderHtml(result, compareResults(result, result), { chartJs: '' })
    expect(html).toContain('<h3>Steps — crud <small>(merged over 2 valid trial(s); percentiles from merged histograms)</small></h3>')
    for (const step of STEPS) expect(html).toContain(`<tr>${[step, ...stepCellsOf(expectedStep(result.trials, step))].map((c) => `<td>${c}</td>`).join('')}</tr>`)
    expect(html).toContain('<h3>Iterations</h3>')
    expect(html).toContain(`<tr><td>${CHECK}</td>`)
    const charts = drawnCharts(html)
    const steps = charts.filter((c) => c.canvas.attrs['data-chart'] === 'steps')
    expect(steps).toHaveLength(1)
    const bars = steps[0]?.config
    expect(bars?.data.labels).toEqual(STEPS)
    const byLabel = Object.fromEntries((bars?.data.datasets ?? []).map((d) => [d.label, d.data]))
    const key: Record<string, keyof LatencySummaryUs> = { 'p50 (ms)': 'p50', 'p95 (ms)': 'p95', 'p99 (ms)': 'p99', 'p99.9 (ms)': 'p999' }
    for (const [label, field] of Object.entries(key)) expect(byLabel[label]).toEqual(STEPS.map((s) => expectedStep(result.trials, s).latencyUs[field] / 1000))
    // The bars' numbers and the table's cells are one figure each: the cell formats the bar's µs.
    const p99Row = STEPS.map((s) => formatLatencyUs((byLabel['p99 (ms)']?.[STEPS.indexOf(s)] as number) * 1000))
    expect(p99Row).toEqual(STEPS.map((s) => stepCellsOf(expectedStep(result.trials, s))[3]))
    expect(bars?.options.plugins.title.text).toBe('crud: latency by step (ms)')
  })

  it('marks lower bounds in the tables, the note and the chart title, and escapes names', () => {
    const result = withFailures(withLowerBound(load()))
    const html = renderHtml(result, compareResults(load(), result), { chartJs: '' })
    expect(html).toContain(`<td>create</td><td>${formatRps(expectedStep(result.trials, 'create').throughputRps)}</td><td>≥ `)
    expect(html).toContain('<p class="note">≥ crud: percentiles are lower bounds: 5 iterations dropped in 1 of 2 trial(s)')
    expect(html).toContain('<td>read: status 500 | &lt;b&gt;&amp;</td><td>3</td>')
    expect(html).not.toContain('<b>&')
    const steps = drawnCharts(html).find((c) => c.canvas.attrs['data-chart'] === 'steps')
    expect(steps?.config.options.plugins.title.text).toBe('crud: latency by step (ms), lower bounds: work was dropped')
  })
})

describe('junit.xml', () => {
  it('has a case per step and per check, with the merged figures, none of them a failure', () => {
    const result = withFailures(load())
    const xml = renderJunit(result, compareResults(load(), result))
    expect(XMLValidator.validate(xml)).toBe(true)
    expect(xml).toContain('<testsuite name="authbench journey crud" tests="4" failures="0" errors="0" skipped="0" time="0">')
    for (const step of STEPS) {
      const [rps, p50, p95, p99, p999, max, errors] = stepCellsOf(expectedStep(result.trials, step))
      expect(xml).toContain(
        `<testcase classname="authbench.journey.crud" name="crud › ${step}" time="0">\n      <system-out>crud › ${step}: ${rps} req/s, p50 ${p50}, p95 ${p95}, p99 ${p99}, p99.9 ${p999}, max ${max}, errors ${errors}`
      )
    }
    const check = /<testcase classname="authbench.journey.crud" name="crud check name is a" time="0">\n {6}<system-out>([^<]*)<\/system-out>\n {4}<\/testcase>/.exec(xml)
    expect(check?.[1]).toMatch(/^crud check &quot;name is a&quot;: [\d,]+ passed, 7 failed/)
    // The suite totals count the journey cases.
    const total = Number(/<testsuites [^>]*tests="(\d+)"/.exec(xml)?.[1])
    expect(total).toBe(xml.match(/<testcase /g)?.length)
  })

  it("run --slo's junit.xml carries them too, marked as lower bounds when work was dropped", () => {
    const xml = renderSloJunit(withLowerBound(load()))
    expect(XMLValidator.validate(xml)).toBe(true)
    expect(xml).toMatch(/<testsuites [^>]*tests="4" failures="0"/)
    expect(xml).toContain('percentiles are lower bounds (work was dropped)')
    expect(xml).not.toContain('<failure')
  })
})

describe('the baseline report', () => {
  it("has a Journeys section with each step's merged figures, in the report's ms", () => {
    const result = load()
    const text = renderBaselineReport(result, { command: 'npx authbench baseline', resultPath: 'reports/baseline.json' })
    expect(text).toContain('## Journeys')
    const ms = (us: number): string => (us < 100 ? `${Math.round(us)} µs` : (us / 1000).toFixed(2))
    const e = expectedStep(result.trials, 'delete')
    expect(text).toContain(
      `| delete | ${count(Math.round(e.throughputRps))} | ${[e.latencyUs.p50, e.latencyUs.p95, e.latencyUs.p99, e.latencyUs.p999, e.latencyUs.max].map(ms).join(' | ')} | ${percent(e.errorRate)} |`
    )
  })
})

describe('a result without journeys', () => {
  const plain = makeRun({ label: 'plain', seed: 3, scenarios: { health: { trials: 3, throughputRps: 9_000, p50Us: 900, samplesPerTrial: 200 } } })
  const comparison = compareResults(plain, plain)

  it('renders no journey section in any report', () => {
    expect(formatSummary(plain)).not.toMatch(/›|iterations|≥/)
    const markdown = renderMarkdown(plain, comparison)
    expect(markdown).not.toMatch(/\*\*Steps\*\*|\*\*Iterations\*\*|\*\*Checks\*\*|≥/)
    const html = renderHtml(plain, comparison, { chartJs: '' })
    expect(html).not.toMatch(/data-chart="steps"|<h3>|"journeys"|class="journey"/)
    expect(drawnCharts(html).map((c) => c.canvas.attrs['data-chart'])).toEqual(['spectrum', 'timeline', 'changes'])
    expect(renderJunit(plain, comparison)).not.toContain('authbench journey')
    expect(renderSloJunit(plain)).not.toContain('<testsuite ')
    expect(renderBaselineReport(plain, { command: 'x', resultPath: 'y' })).not.toContain('## Journeys')
  })

  it('the journey fixture without its journeys renders as a plain run would', () => {
    const result = load()
    for (const t of result.trials) delete t.journey
    const text = formatSummary(result)
    expect([...terminalRows(text).keys()]).toEqual(['scenario', 'crud'])
    expect(text).not.toContain('iterations')
  })
})
