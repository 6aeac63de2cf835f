// A single run's own reports, written beside its result.json: report.md (a table per run, a
// journey's steps) and a self-contained report.html with, per scenario, the latency by percentile
// (HDR style), throughput and p99 over time per trial, and the latency histogram. Every chart is
// drawn from the data block, and the data from the same summaries the tables print, so a chart
// agrees with its table (test/harness/run-report.test.ts checks it). A comparison's reports
// (compare, ab, run --compare) replace these with their own, which hold the run's figures too.
import { decodeHistogram } from '../stats/recorder.ts'
import type { RunResult, ScenarioSummary, TrialResult } from '../types.ts'
import { bounded } from './format.ts'
import { percentileSpectrum } from './html.ts'
import type { SpectrumPoint } from './html.ts'
import { journeyMarkdown, journeyViews } from './journey.ts'
import { formatLatencyUs, formatRps } from './print-summary.ts'
import { escapeHtml, loadChartJs, renderPage } from './page.ts'
import type { HtmlAssets } from './page.ts'

const COLUMNS = ['scenario', 'req/s', 'p50', 'p95', 'p99', 'p99.9', 'max', 'error %', 'CPU µs/req', 'valid trials'] as const

function validOf(s: ScenarioSummary): string {
  return `${s.validTrials}/${s.trials}${s.figuresFromInvalidTrials === true ? ' (figures from invalid trials)' : ''}`
}

function rowOf(s: ScenarioSummary, lowerBound: boolean): string[] {
  const l = (us: number): string => bounded(formatLatencyUs(us), lowerBound)
  return [
    s.scenario,
    formatRps(s.throughputRps),
    l(s.latencyUs.p50),
    l(s.latencyUs.p95),
    l(s.latencyUs.p99),
    l(s.latencyUs.p999),
    l(s.latencyUs.max),
    `${(s.errorRate * 100).toFixed(2)}%`,
    s.cpuUsPerRequest === null ? '—' : s.cpuUsPerRequest.toFixed(1),
    validOf(s)
  ]
}

function lowerBoundOf(result: RunResult, scenario: string): boolean {
  return result.trials.some((t) => t.scenario === scenario && t.latencyLowerBound === true)
}

/** One bar per power-of-2 bucket of latency: [lowUs, highUs) and how many requests fell in it. */
export interface HistogramBar {
  lowUs: number
  highUs: number
  count: number
}

/** The merged histogram as bars (powers of 2 in µs), whose counts add up to the histogram's count. */
export function histogramBars(encoded: string): HistogramBar[] {
  if (encoded === '') return []
  const histogram = decodeHistogram(encoded) as unknown as {
    totalCount: number
    maxValue: number
    countsArrayLength: number
    getCountAtIndex(i: number): number
    valueFromIndex(i: number): number
    destroy(): void
  }
  const bars = new Map<number, number>()
  for (let i = 0; i < histogram.countsArrayLength; i++) {
    const count = histogram.getCountAtIndex(i)
    if (count === 0) continue
    const value = Math.max(1, histogram.valueFromIndex(i))
    const low = 2 ** Math.floor(Math.log2(value))
    bars.set(low, (bars.get(low) ?? 0) + count)
  }
  histogram.destroy()
  return [...bars.entries()].sort((a, b) => a[0] - b[0]).map(([low, count]) => ({ lowUs: low, highUs: low * 2, count }))
}

interface TrialSeries {
  label: string
  /** Requests per second of measured time (the timeline's rows), and p99 µs per second. */
  throughput: Array<{ x: number; y: number }>
  p99Us: Array<{ x: number; y: number }>
}

function trialSeries(trials: readonly TrialResult[], scenario: string): TrialSeries[] {
  return trials
    .filter((t) => t.scenario === scenario)
    .map((t) => ({
      label: `trial ${t.trial + 1}${t.validity.state === 'valid' ? '' : ` (invalid: ${t.validity.code})`}`,
      throughput: t.timeline.map((row) => ({ x: row.second + 1, y: row.requests })),
      p99Us: t.timeline.map((row) => ({ x: row.second + 1, y: row.p99Us }))
    }))
}

/** What the page draws, per scenario: the same summaries the table prints. */
export interface RunChartData {
  scenarios: Array<{
    name: string
    spectrum: SpectrumPoint[]
    histogram: HistogramBar[]
    trials: TrialSeries[]
    table: { throughputRps: number; p50Us: number; p99Us: number; requests: number }
  }>
}

export function runChartData(result: RunResult): RunChartData {
  return {
    scenarios: result.summary.map((s) => ({
      name: s.scenario,
      spectrum: percentileSpectrum(s.histogram),
      histogram: histogramBars(s.histogram),
      trials: trialSeries(result.trials, s.scenario),
      table: { throughputRps: s.throughputRps, p50Us: s.latencyUs.p50, p99Us: s.latencyUs.p99, requests: s.latencyUs.count }
    }))
  }
}

function describeRun(result: RunResult): string {
  const e = result.environment
  const where = e.variant === null ? '' : `, variant ${e.variant}`
  const options = Object.entries(e.targetOptions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return `${result.kind} "${result.label}", ${result.createdAt}: ${e.cpuModel} × ${e.cpuCount}, Node ${e.nodeVersion}, driver ${e.driver}${where}${options === '' ? '' : `, ${options}`}${e.gitCommit === null ? '' : `, commit ${e.gitCommit.slice(0, 10)}${e.gitDirty === true ? ' (dirty)' : ''}`}`
}

export function renderRunMarkdown(result: RunResult): string {
  const lines = [`# authbench run: ${result.label}`, '', describeRun(result), '']
  if (result.aborted !== null) lines.push(`**Stopped early** (${result.aborted.code}): ${result.aborted.reason}`, '')
  lines.push(`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`)
  for (const s of result.summary) lines.push(`| ${rowOf(s, lowerBoundOf(result, s.scenario)).join(' | ')} |`)
  lines.push('', 'req/s is the median over valid trials; latencies come from the merged µs histogram of the valid trials.', '')
  for (const view of journeyViews(result)) lines.push(...journeyMarkdown(view, { latency: formatLatencyUs, rps: formatRps }), '')
  const slos = result.summary.flatMap((s) => (s.slo ?? []).map((o) => `| ${s.scenario} | \`${o.expression}\` | ${o.passed ? 'met' : '**FAILED**'} |`))
  if (slos.length > 0) lines.push('## Objectives', '', '| scenario | objective | |', '|---|---|---|', ...slos, '')
  return lines.join('\n')
}

const RUN_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('authbench-run').textContent);
  window.authbenchCharts = [];
  data.scenarios.forEach(function (s, i) {
    var at = function (kind) { return document.querySelector('canvas[data-chart="' + kind + '"][data-index="' + i + '"]'); };
    window.authbenchCharts.push(new Chart(at('spectrum'), { type: 'line', data: { datasets: [{ label: s.name + ' latency (ms)', data: s.spectrum.map(function (p) { return { x: p.x, y: p.y / 1000 }; }), pointRadius: 0 }] },
      options: { parsing: true, scales: { x: { type: 'logarithmic', title: { display: true, text: 'percentile: 1 / (1 − p)' } }, y: { type: 'logarithmic', title: { display: true, text: 'latency (ms)' } } }, plugins: { title: { display: true, text: s.name + ': latency by percentile' } } } }));
    window.authbenchCharts.push(new Chart(at('throughput'), { type: 'line', data: { datasets: s.trials.map(function (t) { return { label: t.label, data: t.throughput, pointRadius: 1 }; }) },
      options: { parsing: true, scales: { x: { type: 'linear', title: { display: true, text: 'second of the trial' } }, y: { beginAtZero: true, title: { display: true, text: 'req/s' } } }, plugins: { title: { display: true, text: s.name + ': throughput per trial' } } } }));
    window.authbenchCharts.push(new Chart(at('p99'), { type: 'line', data: { datasets: s.trials.map(function (t) { return { label: t.label, data: t.p99Us.map(function (p) { return { x: p.x, y: p.y / 1000 }; }), pointRadius: 1 }; }) },
      options: { parsing: true, scales: { x: { type: 'linear', title: { display: true, text: 'second of the trial' } }, y: { beginAtZero: true, title: { display: true, text: 'p99 (ms)' } } }, plugins: { title: { display: true, text: s.name + ': p99 per second' } } } }));
    window.authbenchCharts.push(new Chart(at('histogram'), { type: 'bar', data: { labels: s.histogram.map(function (b) { return (b.lowUs / 1000) + '–' + (b.highUs / 1000) + ' ms'; }), datasets: [{ label: 'requests', data: s.histogram.map(function (b) { return b.count; }), backgroundColor: '#2563eb' }] },
      options: { plugins: { title: { display: true, text: s.name + ': latency histogram (requests per power-of-2 bucket)' } } } }));
  });
})();
`

export function renderRunHtml(result: RunResult, assets: HtmlAssets = { chartJs: loadChartJs() }): string {
  const rows = result.summary.map(
    (s) =>
      `<tr>${rowOf(s, lowerBoundOf(result, s.scenario))
        .map((c) => `<td>${escapeHtml(c)}</td>`)
        .join('')}</tr>`
  )
  const charts = result.summary
    .map(
      (s, i) => `<h2>${escapeHtml(s.scenario)}</h2>
<div class="charts">${['spectrum', 'throughput', 'p99', 'histogram'].map((kind) => `<div class="chart"><canvas data-chart="${kind}" data-index="${i}"></canvas></div>`).join('')}</div>`
    )
    .join('\n')
  return renderPage({
    title: `authbench run: ${result.label}`,
    css: `td:first-child, th:first-child, td:last-child { text-align: left; } .charts { display: flex; flex-wrap: wrap; gap: 1rem; } .chart { position: relative; width: 560px; height: 320px; } .note { color: #92400e; }`,
    body: `<h1>authbench run: ${escapeHtml(result.label)}</h1>
<p>${escapeHtml(describeRun(result))}</p>
${result.aborted === null ? '' : `<p class="note">Stopped early (${escapeHtml(result.aborted.code)}): ${escapeHtml(result.aborted.reason)}</p>`}
<table><thead><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
${charts}`,
    dataId: 'authbench-run',
    data: runChartData(result),
    chartJs: assets.chartJs,
    script: RUN_SCRIPT
  })
}
