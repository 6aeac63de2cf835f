// The reporters are pure functions of (result, comparison): checked against fixture runs,
// including hostile scenario names that must be escaped in Markdown, XML, HTML and inline JSON.
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { compareResults } from '../../harness/reporters/headline.ts'
import { validateResult } from '../../harness/result-io.ts'
import { percentileSpectrum, renderHtml } from '../../harness/reporters/html.ts'
import { escapeInlineScript, jsonForScript } from '../../harness/reporters/page.ts'
import { renderJson } from '../../harness/reporters/json.ts'
import { renderJunit } from '../../harness/reporters/junit.ts'
import { GITHUB_COMMENT_LIMIT, renderMarkdown } from '../../harness/reporters/markdown.ts'
import type { Comparison, RunResult, ScenarioComparison } from '../../harness/types.ts'
import { makeRun } from '../fixtures/results/build.ts'
import type { ScenarioShape } from '../fixtures/results/build.ts'

const HEALTH: ScenarioShape = { trials: 4, throughputRps: 12_000, p50Us: 700, samplesPerTrial: 1000 }
const HOSTILE = 'x</script><b>&"\'|y'
const baseline = makeRun({ label: 'base', seed: 1, scenarios: { health: HEALTH, [HOSTILE]: HEALTH } })
const current = makeRun({ label: 'cur</script>', seed: 2, scenarios: { health: { ...HEALTH, throughputRps: 8_000, p50Us: 1_000 }, [HOSTILE]: HEALTH } })
const comparison = compareResults(baseline, current)

describe('markdown', () => {
  const markdown = renderMarkdown(current, comparison)

  it('starts with the one-line verdict, a line per scenario, then one folded table per scenario', () => {
    const firstLine = markdown.split('\n')[0] ?? ''
    expect(firstLine).toContain(comparison.headline.replace(/\|/g, '\\|'))
    expect(firstLine).toMatch(/REGRESSION/)
    expect(markdown).toMatch(/^\| health \| 🔴 regression \| throughput −3\d\.\d% /m)
    expect(markdown.indexOf('| scenario | verdict | what changed |')).toBeLessThan(markdown.indexOf('<details>'))
    expect(markdown.match(/^<details><summary>/gm)?.length).toBe(2)
    expect(markdown.match(/^<\/details>$/gm)?.length).toBe(2)
    expect(markdown).toContain('<summary>x&lt;/script&gt;&lt;b&gt;&amp;')
    expect(markdown.match(/^\| metric \| baseline \| current \| delta \| 95% interval \|/gm)?.length).toBe(2)
    expect(markdown).toMatch(/\| throughput \| 1\d,\d{3} req\/s \| \d,\d{3} req\/s \| −3\d\.\d% \|/)
  })

  it('escapes pipes in cells so tables keep their columns', () => {
    expect(markdown).toContain('\\|y')
  })

  it('fits a pull-request comment', () => {
    expect(markdown.length).toBeLessThan(GITHUB_COMMENT_LIMIT)
  })

  it('stays under the comment limit for a large multi-scenario result, regressions first, the rest named as left out', () => {
    // 1,500 scenarios with long names: the full report would be ~2 MB.
    const template = comparison.scenarios.find((s) => s.scenario === 'health') as ScenarioComparison
    const calm = comparison.scenarios.find((s) => s.scenario !== 'health') as ScenarioComparison
    const many: ScenarioComparison[] = Array.from({ length: 1_500 }, (_, i) => ({
      ...(i % 100 === 99 ? template : calm),
      scenario: `endpoint-${String(i).padStart(4, '0')}-${'with-a-long-descriptive-name-'.repeat(3)}`
    }))
    const big: Comparison = { ...comparison, scenarios: many }
    const text = renderMarkdown(current, big)
    const unbounded = renderMarkdown(current, big, { maxChars: Number.MAX_SAFE_INTEGER })
    expect(unbounded.length).toBeGreaterThan(1_000_000)
    expect(text.length).toBeLessThan(GITHUB_COMMENT_LIMIT)
    expect(text.split('\n')[0]).toMatch(/REGRESSION/)
    // The 15 regressed scenarios lead the summary table and are all detailed.
    const rows = text.split('\n').filter((line) => line.startsWith('| endpoint-'))
    expect(rows.slice(0, 15).every((row) => row.includes('🔴 regression'))).toBe(true)
    for (let i = 99; i < 1_500; i += 100) expect(text).toContain(`<summary>endpoint-${String(i).padStart(4, '0')}-`)
    expect(text).toMatch(/more scenario\(s\) not listed here/)
    expect(text).toMatch(/Details of \d+ of 1500 scenario\(s\) left out to stay under GitHub's 65,536-character comment limit/)
    expect(text.match(/<details>/g)?.length).toBe(text.match(/<\/details>/g)?.length)
    expect(text.trimEnd().endsWith('</sub>')).toBe(true)
  })
})

describe('junit', () => {
  const xml = renderJunit(current, comparison)

  it('is well-formed XML with one test case per scenario × gated metric', () => {
    expect(XMLValidator.validate(xml)).toBe(true)
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { tests: string; failures: string; testsuite: Array<{ name: string; testcase: Array<{ name: string; failure?: unknown }> }> }
    }
    const suites = parsed.testsuites.testsuite
    expect(suites).toHaveLength(2)
    const gated = comparison.scenarios.flatMap((s) => s.metrics.filter((m) => m.gated))
    expect(Number(parsed.testsuites.tests)).toBe(gated.length)
    const health = suites.find((suite) => suite.name === 'authbench health')
    const failing = health?.testcase.filter((testcase) => testcase.failure !== undefined).map((testcase) => testcase.name)
    expect(failing).toContain('health throughput')
    expect(Number(parsed.testsuites.failures)).toBe(gated.filter((m) => m.verdict === 'regression').length)
    expect(suites.map((suite) => suite.name)).toContain(`authbench ${HOSTILE}`)
  })
})

describe('json', () => {
  it('is the result extended with the comparison, and still matches the result schema', () => {
    const extended = JSON.parse(renderJson(current, comparison)) as RunResult
    expect(extended.comparison?.verdict).toBe(comparison.verdict)
    expect(extended.trials).toEqual(current.trials)
    expect(validateResult(extended)).toEqual([])
  })
})

describe('html', () => {
  const html = renderHtml(current, comparison)

  it('is self-contained: Chart.js inlined, no external scripts, styles or links', () => {
    expect(html).toContain('Chart.js v4')
    expect(html).not.toMatch(/<script[^>]+src=/i)
    expect(html).not.toMatch(/<link[^>]+href=/i)
    expect(html).not.toMatch(/https?:\/\/(?!www\.chartjs\.org)[^\s"')]*\.(js|css)/)
  })

  it('escapes hostile names: exactly the three expected script blocks, no stray end tag', () => {
    expect(html.match(/<script/gi)?.length).toBe(3)
    expect(html.match(/<\/script>/gi)?.length).toBe(3)
    expect(html).toContain('x&lt;/script&gt;&lt;b&gt;')
  })

  it('inline JSON and JS cannot close their script tag', () => {
    expect(jsonForScript({ a: '</script><!--' })).not.toMatch(/<\/script|<!--/i)
    expect(JSON.parse(jsonForScript({ a: '</script>' }))).toEqual({ a: '</script>' })
    expect(escapeInlineScript('var s = "</SCRIPT>"; // <!--')).toBe('var s = "<\\/SCRIPT>"; // <\\!--')
  })

  it('the spectrum rises with the percentile and ends at the max', () => {
    const spectrum = percentileSpectrum(current.summary[0]?.histogram ?? null)
    expect(spectrum.length).toBeGreaterThan(20)
    expect(spectrum[0]?.x).toBe(1)
    for (let i = 1; i < spectrum.length; i++) expect(spectrum[i]?.y).toBeGreaterThanOrEqual(spectrum[i - 1]?.y ?? 0)
    expect(spectrum.at(-1)?.y).toBe(current.summary[0]?.latencyUs.max)
    expect(percentileSpectrum(null)).toEqual([])
  })
})
