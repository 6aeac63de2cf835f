// A run's own report.md and report.html: every chart is drawn from the page's data block, and that
// data agrees with the table beside it (a real run's result: test/fixtures/results/journey-result.json).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { runChartData } from '../../harness/reporters/run-report.ts'
import { histogramBars, renderRunHtml, renderRunMarkdown } from '../../harness/reporters/run-report.ts'
import { formatLatencyUs, formatRps } from '../../harness/reporters/print-summary.ts'
import type { RunResult } from '../../harness/types.ts'

const result = JSON.parse(readFileSync(new URL('../fixtures/results/journey-result.json', import.meta.url), 'utf8')) as RunResult

function pageData(html: string): ReturnType<typeof runChartData> {
  const m = /<script type="application\/json" id="authbench-run">([\s\S]*?)<\/script>/.exec(html)
  if (m === null) throw new Error('no data block')
  return JSON.parse((m[1] as string).replace(/\\u003c/g, '<')) as ReturnType<typeof runChartData>
}

describe("a run's report", () => {
  const html = renderRunHtml(result, { chartJs: '/* chart.js */' })
  const data = pageData(html)

  it('report.html draws, per scenario, the percentile spectrum, throughput and p99 per trial, and the histogram', () => {
    for (const [i, s] of result.summary.entries()) {
      for (const kind of ['spectrum', 'throughput', 'p99', 'histogram']) expect(html).toContain(`data-chart="${kind}" data-index="${i}"`)
      expect(data.scenarios[i]?.name).toBe(s.scenario)
    }
  })

  it("each chart agrees with the table: the spectrum's p99 is the table's, the histogram holds every request, the trials' rows add up", () => {
    for (const [i, s] of result.summary.entries()) {
      const chart = data.scenarios[i]
      if (chart === undefined) throw new Error('no chart data')
      // x = 100 is p99 on the spectrum's 1 / (1 − p) axis.
      expect(chart.spectrum.find((p) => Math.abs(p.x - 100) < 1e-9)?.y).toBe(s.latencyUs.p99)
      expect(chart.spectrum.at(-1)?.y).toBe(s.latencyUs.max)
      expect(chart.histogram.reduce((a, b) => a + b.count, 0)).toBe(s.latencyUs.count)
      expect(html).toContain(`<td>${formatLatencyUs(s.latencyUs.p99)}</td>`)
      expect(html).toContain(`<td>${formatRps(s.throughputRps)}</td>`)
      const trials = result.trials.filter((t) => t.scenario === s.scenario)
      trials.forEach((t, k) => {
        const rows = chart.trials[k]?.throughput ?? []
        expect(rows.reduce((a, p) => a + p.y, 0)).toBe(t.timeline.reduce((a, r) => a + r.requests, 0))
        // A per-second timeline: its mean rate is the trial's throughput within 1%.
        const mean = rows.reduce((a, p) => a + p.y, 0) / (t.durationMs / 1000)
        expect(Math.abs(mean - t.throughputRps) / t.throughputRps).toBeLessThan(0.01)
      })
    }
  })

  it('histogram bars are powers of two whose counts add up to the histogram', () => {
    const bars = histogramBars(result.summary[0]?.histogram ?? '')
    expect(bars.length).toBeGreaterThan(2)
    for (const b of bars) expect(b.highUs).toBe(2 * b.lowUs)
    expect(histogramBars('')).toEqual([])
  })

  it("report.md has the run's table and the journey's steps", () => {
    const md = renderRunMarkdown(result)
    expect(md).toMatch(/^# authbench run: /)
    for (const s of result.summary) expect(md).toContain(`| ${s.scenario} | ${formatRps(s.throughputRps)} |`)
    expect(md).toMatch(/Steps/)
  })
})
