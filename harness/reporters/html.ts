// report.html, in the page frame all reports share (harness/reporters/page.ts), with the
// latency percentile spectrum (HDR style) of baseline and current, throughput and p99 over time,
// and a bar per scenario of each change and its interval; for a journey scenario its steps,
// iterations and checks as tables, and the steps' percentiles as bars drawn from the same numbers.
// renderHtml is a pure function of (result, comparison, assets); loadChartJs is the only file
// read, done once by the caller.
import { decodeHistogram } from '../stats/recorder.ts'
import { SENSITIVITY_METHOD } from '../stats/sensitivity.ts'
import { METRIC_INFO } from '../stats/verdict.ts'
import { VERDICT_LABEL, bounded, describeLowerBound, formatChange, formatDetectable, formatInterval, formatMargin, formatValue } from './format.ts'
import {
  CHECK_COLUMNS,
  FAILURE_COLUMNS,
  ITERATION_COLUMNS,
  STEP_COLUMNS,
  checkRows,
  comparedLowerBounds,
  failureRows,
  iterationCells,
  journeyViews,
  stepCells,
  viewSource,
  viewTitle
} from './journey.ts'
import type { JourneyFormats, JourneyView } from './journey.ts'
import { formatLatencyUs, formatRps } from './print-summary.ts'
import type { Comparison, MetricComparison, RunResult, TrialResult } from '../types.ts'
import { escapeHtml, loadChartJs, renderPage } from './page.ts'
import type { HtmlAssets } from './page.ts'

export interface SpectrumPoint {
  /** 1 / (1 − p): the HDR plot's log-scale x axis. */
  x: number
  /** Latency µs at that percentile. */
  y: number
}

/** Percentile spectrum of an encoded histogram, 10 points per decade of 1/(1−p), ending at max. */
export function percentileSpectrum(encoded: string | null): SpectrumPoint[] {
  if (encoded === null || encoded === '') return []
  let histogram
  try {
    histogram = decodeHistogram(encoded)
  } catch {
    return []
  }
  const count = histogram.totalCount
  const points: SpectrumPoint[] = []
  if (count > 0) {
    const decades = Math.log10(count)
    for (let step = 0; step / 10 <= decades; step++) {
      const x = 10 ** (step / 10)
      points.push({ x, y: histogram.getValueAtPercentile(100 * (1 - 1 / x)) })
    }
    // The max sits one count past the last point, where p would be 1 − 1/count.
    points.push({ x: count, y: histogram.maxValue })
  }
  histogram.destroy()
  return points
}

interface TimelineSeries {
  label: string
  throughput: Array<{ x: number; y: number }>
  p99Us: Array<{ x: number; y: number }>
}

/** Trials of a scenario laid end to end in the order they ran; one series per arm for A/B. */
function timelines(trials: readonly TrialResult[], scenario: string): TimelineSeries[] {
  const mine = trials.filter((trial) => trial.scenario === scenario).sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.trial - b.trial)
  const arms = [...new Set(mine.map((trial) => trial.arm ?? 'current'))]
  let offset = 0
  const series = new Map<string, TimelineSeries>(arms.map((arm) => [arm, { label: arm === 'current' ? 'current run' : `arm ${arm}`, throughput: [], p99Us: [] }]))
  for (const trial of mine) {
    const target = series.get(trial.arm ?? 'current') as TimelineSeries
    for (const row of trial.timeline) {
      target.throughput.push({ x: offset + row.second, y: row.requests })
      target.p99Us.push({ x: offset + row.second, y: row.p99Us })
    }
    offset += Math.max(trial.timeline.length, Math.ceil(trial.durationMs / 1000))
  }
  return [...series.values()]
}

const JOURNEY_FORMATS: JourneyFormats = { latency: formatLatencyUs, rps: formatRps }

function htmlTable(head: readonly string[], rows: readonly string[][]): string {
  const cells = (row: readonly string[], tag: 'td' | 'th'): string => row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('')}</tbody></table>`
}

/** A journey's steps, groups, iterations, checks and failed iterations as tables, and a canvas for its steps' bars. */
function journeySection(view: JourneyView): string {
  const s = view.summary
  const bound = view.lowerBound !== null
  const parts = [
    `<h3>Steps — ${escapeHtml(viewTitle(view))} <small>(${escapeHtml(viewSource(view))})</small></h3>`,
    htmlTable(
      ['step', ...STEP_COLUMNS],
      s.steps.map((step) => [step.name, ...stepCells(step, JOURNEY_FORMATS, bound)])
    )
  ]
  if (s.groups.length > 0)
    parts.push(
      '<h3>Groups</h3>',
      htmlTable(
        ['group', ...STEP_COLUMNS],
        s.groups.map((g) => [g.name, ...stepCells(g, JOURNEY_FORMATS, bound)])
      )
    )
  parts.push('<h3>Iterations</h3>', htmlTable(ITERATION_COLUMNS, [iterationCells(view, JOURNEY_FORMATS)]))
  const checks = checkRows(s)
  if (checks.length > 0) parts.push('<h3>Checks</h3>', htmlTable(CHECK_COLUMNS, checks))
  const failures = failureRows(s)
  if (failures.length > 0) parts.push('<h3>Failed iterations</h3>', htmlTable(FAILURE_COLUMNS, failures))
  if (view.lowerBound !== null) parts.push(`<p class="note">${escapeHtml(describeLowerBound(viewTitle(view), view.lowerBound))}</p>`)
  parts.push(`<div class="chart"><canvas data-chart="steps" data-scenario="${escapeHtml(view.scenario)}" data-side="${escapeHtml(view.side ?? '')}"></canvas></div>`)
  return `<div class="journey">${parts.join('\n')}</div>`
}

/** The steps' bars: the very figures of the Steps table, in µs. */
function journeyChartData(view: JourneyView): unknown {
  return {
    scenario: view.scenario,
    side: view.side ?? '',
    title: viewTitle(view),
    lowerBound: view.lowerBound !== null,
    steps: view.summary.steps.map((step) => ({
      name: step.name,
      throughputRps: step.throughputRps,
      errorRate: step.errorRate,
      p50Us: step.latencyUs.p50,
      p95Us: step.latencyUs.p95,
      p99Us: step.latencyUs.p99,
      p999Us: step.latencyUs.p999,
      maxUs: step.latencyUs.max
    }))
  }
}

function metricRow(metric: MetricComparison, bounds: { baseline: boolean; current: boolean }): string {
  const latency = METRIC_INFO[metric.metric].unit === 'µs'
  const value = (v: number | null, bound: boolean): string => escapeHtml(bounded(formatValue(metric.metric, v), latency && bound))
  return `<tr class="${metric.verdict}"><td>${escapeHtml(METRIC_INFO[metric.metric].label)}${metric.normalised ? ' ¹' : ''}${metric.gated ? '' : ' <small>(not gated)</small>'}</td><td>${value(metric.baseline, bounds.baseline)}</td><td>${value(metric.current, bounds.current)}</td><td>${escapeHtml(formatChange(metric.changeKind, metric.change))}</td><td>${escapeHtml(formatInterval(metric))}</td><td>${escapeHtml(formatMargin(metric))}</td><td>${escapeHtml(formatDetectable(metric))}</td><td>${metric.pValue === null ? '—' : metric.pValue.toFixed(3)}</td><td>${escapeHtml(VERDICT_LABEL[metric.verdict])}${metric.note ? `<br><small>${escapeHtml(metric.note)}</small>` : ''}</td></tr>`
}

function summaryTables(comparison: Comparison, result: RunResult): string {
  const sides = comparison.mode === 'ab' ? ['A', 'B'] : ['baseline', 'current']
  return comparison.scenarios
    .map((scenario) => {
      const bounds = comparedLowerBounds(result, comparison.mode, scenario.scenario)
      const rows = scenario.metrics.map((metric) => metricRow(metric, bounds)).join('\n')
      const notes = scenario.notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('')
      const journeys = journeyViews(result, [scenario.scenario]).map(journeySection).join('\n')
      return `<section class="scenario"><h2>${escapeHtml(scenario.scenario)} — <span class="verdict ${scenario.verdict}">${escapeHtml(VERDICT_LABEL[scenario.verdict])}</span></h2>${notes}
<table><thead><tr><th>metric</th><th>${sides[0]}</th><th>${sides[1]}</th><th>delta</th><th>${Math.round(comparison.settings.confidence * 100)}% interval</th><th>margin</th><th>detectable</th><th>p</th><th>verdict</th></tr></thead><tbody>
${rows}
</tbody></table>
<div class="charts"><div class="chart"><canvas data-chart="spectrum" data-scenario="${escapeHtml(scenario.scenario)}"></canvas></div><div class="chart"><canvas data-chart="timeline" data-scenario="${escapeHtml(scenario.scenario)}"></canvas></div></div>${journeys === '' ? '' : `\n${journeys}`}</section>`
    })
    .join('\n')
}

// The page's own script: builds the charts from the JSON data block. Plain ES2017, no imports.
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('authbench-data').textContent);
  var palette = { baseline: '#6b7280', current: '#2563eb', A: '#6b7280', B: '#2563eb', p99: '#dc2626' };
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  window.authbenchCharts = [];
  function percentLabel(value) {
    var exponent = Math.log10(value);
    if (Math.abs(exponent - Math.round(exponent)) > 1e-9) return '';
    var percentile = 100 * (1 - 1 / value);
    return percentile.toFixed(Math.max(0, Math.round(exponent) - 2)) + '%';
  }
  function canvasFor(kind, scenario) {
    var all = document.querySelectorAll('canvas[data-chart="' + kind + '"]');
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute('data-scenario') === scenario) return all[i];
    return null;
  }
  data.scenarios.forEach(function (scenario) {
    var spectrum = canvasFor('spectrum', scenario.name);
    if (spectrum) window.authbenchCharts.push(new Chart(spectrum, {
      type: 'line',
      data: { datasets: [
        { label: data.sides[0], data: scenario.spectrum.baseline, borderColor: palette.baseline, pointRadius: 0, borderDash: [6, 4] },
        { label: data.sides[1], data: scenario.spectrum.current, borderColor: palette.current, pointRadius: 0 }
      ] },
      options: {
        plugins: { title: { display: true, text: scenario.name + ': latency by percentile' } },
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: 'percentile' }, ticks: { callback: percentLabel, autoSkip: false } },
          y: { type: 'linear', title: { display: true, text: 'latency (µs)' }, beginAtZero: true }
        }
      }
    }));
    var timeline = canvasFor('timeline', scenario.name);
    if (timeline) {
      var datasets = [];
      scenario.timeline.forEach(function (series) {
        datasets.push({ label: series.label + ' req/s', data: series.throughput, yAxisID: 'y', borderColor: palette[series.label.slice(-1)] || palette.current, pointRadius: 0 });
        datasets.push({ label: series.label + ' p99 µs', data: series.p99Us, yAxisID: 'y1', borderColor: palette.p99, borderDash: series.label.slice(-1) === 'A' ? [6, 4] : [], pointRadius: 0 });
      });
      window.authbenchCharts.push(new Chart(timeline, {
        type: 'line',
        data: { datasets: datasets },
        options: {
          plugins: { title: { display: true, text: scenario.name + ': throughput and p99 over time (trials end to end)' } },
          scales: {
            x: { type: 'linear', title: { display: true, text: 'seconds' } },
            y: { position: 'left', title: { display: true, text: 'req/s' }, beginAtZero: true },
            y1: { position: 'right', title: { display: true, text: 'p99 (µs)' }, beginAtZero: true, grid: { drawOnChartArea: false } }
          }
        }
      }));
    }
  });
  var changes = document.getElementById('changes');
  if (changes) window.authbenchCharts.push(new Chart(changes, {
    type: 'bar',
    data: {
      labels: data.scenarios.map(function (s) { return s.name; }),
      datasets: data.changeMetrics.map(function (metric, index) {
        var colors = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed'];
        return {
          label: metric.label + ' (interval, %)',
          backgroundColor: colors[index % colors.length],
          data: data.scenarios.map(function (s) { var c = s.changes[metric.key]; return c ? [c.low * 100, c.high * 100] : null; })
        };
      })
    },
    options: {
      plugins: { title: { display: true, text: 'Change ' + data.sides[1] + ' vs ' + data.sides[0] + ', ' + data.confidencePercent + '% interval (floating bars, %; positive = larger)' } },
      scales: { y: { title: { display: true, text: 'change (%)' } } }
    }
  }));
})();
`

// Drawn only for a result with journeys, so that other reports stay as they were: each journey's
// steps as bars of the percentiles its Steps table shows.
const JOURNEY_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('authbench-data').textContent);
  data.journeys.forEach(function (journey) {
    var all = document.querySelectorAll('canvas[data-chart="steps"]');
    var canvas = null;
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute('data-scenario') === journey.scenario && all[i].getAttribute('data-side') === journey.side) canvas = all[i];
    if (!canvas) return;
    var bars = [['p50', 'p50Us', '#2563eb'], ['p95', 'p95Us', '#f59e0b'], ['p99', 'p99Us', '#dc2626'], ['p99.9', 'p999Us', '#7c3aed']];
    window.authbenchCharts.push(new Chart(canvas, {
      type: 'bar',
      data: {
        labels: journey.steps.map(function (step) { return step.name; }),
        datasets: bars.map(function (bar) {
          return { label: bar[0] + ' (ms)', backgroundColor: bar[2], data: journey.steps.map(function (step) { return step[bar[1]] / 1000; }) };
        })
      },
      options: {
        plugins: { title: { display: true, text: journey.title + ': latency by step (ms)' + (journey.lowerBound ? ', lower bounds: work was dropped' : '') } },
        scales: { y: { title: { display: true, text: 'latency (ms)' }, beginAtZero: true } }
      }
    }));
  });
})();
`

const JOURNEY_CSS = `
h3 { font-size: 0.95rem; margin: 1rem 0 0.3rem; } .journey td:first-child { text-align: left; }`

export function renderHtml(result: RunResult, comparison: Comparison, assets: HtmlAssets = { chartJs: loadChartJs() }): string {
  const journeys = journeyViews(
    result,
    comparison.scenarios.map((scenario) => scenario.scenario)
  )
  const changeMetrics = (['throughputRps', 'p50Us', 'p95Us', 'p99Us', 'cpuUsPerRequest'] as const).map((key) => ({ key, label: METRIC_INFO[key].label }))
  const data = {
    sides: comparison.mode === 'ab' ? ['A', 'B'] : ['baseline', 'current'],
    confidencePercent: Math.round(comparison.settings.confidence * 100),
    changeMetrics,
    scenarios: comparison.scenarios.map((scenario) => ({
      name: scenario.scenario,
      verdict: scenario.verdict,
      spectrum: { baseline: percentileSpectrum(scenario.baselineHistogram), current: percentileSpectrum(scenario.currentHistogram) },
      timeline: timelines(result.trials, scenario.scenario),
      changes: Object.fromEntries(
        scenario.metrics
          .filter((metric) => metric.interval !== null && metric.changeKind === 'relative')
          .map((metric) => [metric.metric, { low: metric.interval?.low, high: metric.interval?.high, change: metric.change }])
      )
    })),
    ...(journeys.length === 0 ? {} : { journeys: journeys.map(journeyChartData) })
  }
  const notes = comparison.notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('\n')
  const differences =
    comparison.environment.differences.length === 0
      ? '<p>Same environment fingerprint.</p>'
      : `<table><thead><tr><th>field</th><th>baseline</th><th>current</th></tr></thead><tbody>${comparison.environment.differences
          .map((d) => `<tr><td>${escapeHtml(d.field)}${d.machine ? ' (machine)' : ''}</td><td>${escapeHtml(d.baseline)}</td><td>${escapeHtml(d.current)}</td></tr>`)
          .join('')}</tbody></table>`
  return renderPage({
    title: `authbench: ${VERDICT_LABEL[comparison.verdict]} — ${result.label}`,
    css: `td:first-child, th:first-child, td:last-child { text-align: left; }
tr.regression { background: #fee2e2; } tr.improvement { background: #dcfce7; } tr.inconclusive { background: #fef9c3; } tr.invalid { background: #e5e7eb; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .chart { position: relative; width: 560px; height: 320px; }
.verdict { padding: 0 0.4rem; border-radius: 0.3rem; } .verdict.regression { background: #fecaca; } .verdict.improvement { background: #bbf7d0; } .verdict.inconclusive { background: #fef08a; } .verdict.invalid { background: #d1d5db; }
.note { color: #92400e; } small { color: #4b5563; }${journeys.length === 0 ? '' : JOURNEY_CSS}`,
    body: `<h1><span class="verdict ${comparison.verdict}">${escapeHtml(VERDICT_LABEL[comparison.verdict])}</span> ${escapeHtml(comparison.headline)}</h1>
<p>${escapeHtml(data.sides[0] as string)}: <code>${escapeHtml(comparison.baseline.label)}</code> (${escapeHtml(comparison.baseline.createdAt)}) · ${escapeHtml(data.sides[1] as string)}: <code>${escapeHtml(comparison.current.label)}</code> (${escapeHtml(comparison.current.createdAt)})</p>
${notes}
<div class="chart" style="width: 100%; max-width: 1140px;"><canvas id="changes" data-chart="changes"></canvas></div>
${summaryTables(comparison, result)}
<p class="note">Detectable: ${escapeHtml(SENSITIVITY_METHOD)}</p>
<h2>Environment</h2>
${differences}`,
    dataId: 'authbench-data',
    data,
    chartJs: assets.chartJs,
    script: journeys.length === 0 ? PAGE_SCRIPT : `${PAGE_SCRIPT}${JOURNEY_SCRIPT}`
  })
}
