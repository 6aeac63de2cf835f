// The capacity search's reports: capacity.md (a line per scenario, a table of steps) and a
// self-contained report.html with one chart per scenario: p50 and p99 (ms) and the completed
// throughput against the offered rate, each latency objective drawn as a dashed line, and the
// capacity marked. Pure functions of the results (Chart.js inlined, as in the compare report).
import type { CapacityResult } from '../engine/capacity.ts'
import type { Slo } from '../stats/slo.ts'
import { formatLatencyUs, formatRps } from './print-summary.ts'
import { escapeHtml, loadChartJs, renderPage } from './page.ts'

export function describeCapacity(r: CapacityResult, slos: readonly Slo[]): string {
  const objectives = slos.map((s) => s.expression).join(', ')
  // A journey's rates count its iterations.
  const u = r.unit ?? 'req/s'
  const knee = r.kneeRps === null ? 'no knee seen' : `knee at ${formatRps(r.kneeRps)} ${u}`
  if (r.generatorLimited) {
    const at = r.steps.filter((s) => s.outcome === 'client-limited').map((s) => s.rateRps)
    return `${r.scenario}: capacity ≥ ${formatRps(r.capacityRps)} ${u} at ${objectives}: a LOWER BOUND, the load generator (not the target) could not keep ${formatRps(Math.min(...at))} ${u}; ${knee}; ${r.steps.length} steps`
  }
  if (r.maxRateReached)
    return `${r.scenario}: capacity ≥ ${formatRps(r.capacityRps)} ${u} at ${objectives}: a lower bound, every step up to --max-rate passed; ${r.steps.length} steps`
  if (r.capacityRps === 0)
    return `${r.scenario}: no tested rate met ${objectives} (lowest tried ${formatRps(Math.min(...r.steps.map((s) => s.rateRps)))} ${u}); ${knee}; ${r.steps.length} steps`
  return `${r.scenario}: capacity ${formatRps(r.capacityRps)} ${u} at ${objectives} (interval ${formatRps(r.interval.lowRps)}–${r.interval.highRps === null ? '?' : formatRps(r.interval.highRps)} ${u}: passed every trial at the low end, failed at the high end); ${knee}; ${r.steps.length} steps`
}

export function renderCapacityMarkdown(results: readonly CapacityResult[], slos: readonly Slo[], label: string): string {
  const lines = [`# authbench capacity: ${label}`, '', ...results.map((r) => `- ${describeCapacity(r, slos)}`), '']
  for (const r of results) {
    const u = r.unit ?? 'req/s'
    lines.push(`## ${r.scenario}`, '', `| # | phase | offered ${u} | completed ${u} | p50 | p99 | errors | dropped | outcome |`, '|---|---|---|---|---|---|---|---|---|')
    r.steps.forEach((s, i) =>
      lines.push(
        `| ${i + 1} | ${s.phase} | ${formatRps(s.rateRps)} | ${formatRps(s.completedRps)} | ${formatLatencyUs(s.p50Us)} | ${formatLatencyUs(s.p99Us)} | ${(s.errorRate * 100).toFixed(2)}% | ${(s.droppedShare * 100).toFixed(1)}% | ${s.outcome}: ${s.why.split('\n')[0]?.replace(/\|/g, '/') ?? ''} |`
      )
    )
    lines.push('')
  }
  return lines.join('\n')
}

const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('authbench-data').textContent);
  Chart.defaults.animation = false;
  window.authbenchCharts = [];
  data.results.forEach(function (r, index) {
    var steps = r.steps.slice().sort(function (a, b) { return a.rateRps - b.rateRps; });
    var xs = steps.map(function (s) { return s.rateRps; });
    var maxX = Math.max.apply(null, xs.concat([1]));
    var datasets = [
      { label: 'p50 (ms)', yAxisID: 'ms', borderColor: '#2563eb', data: steps.map(function (s) { return { x: s.rateRps, y: s.p50Us / 1000 }; }) },
      { label: 'p99 (ms)', yAxisID: 'ms', borderColor: '#dc2626', data: steps.map(function (s) { return { x: s.rateRps, y: s.p99Us / 1000 }; }) },
      { label: 'completed (req/s)', yAxisID: 'rps', borderColor: '#16a34a', data: steps.map(function (s) { return { x: s.rateRps, y: s.completedRps }; }) }
    ];
    data.latencySlos.forEach(function (slo) {
      datasets.push({ label: 'SLO ' + slo.expression, yAxisID: 'ms', borderColor: '#f59e0b', borderDash: [6, 4], pointRadius: 0, data: [{ x: 0, y: slo.thresholdMs }, { x: maxX, y: slo.thresholdMs }] });
    });
    if (r.capacityRps > 0) datasets.push({ label: 'capacity ' + r.capacityRps + ' req/s', yAxisID: 'rps', borderColor: '#111827', borderDash: [2, 2], pointRadius: 0, data: [{ x: r.capacityRps, y: 0 }, { x: r.capacityRps, y: maxX }] });
    var chart = new Chart(document.getElementById('chart-' + index), {
      type: 'line',
      data: { datasets: datasets },
      options: { parsing: true, scales: { x: { type: 'linear', title: { display: true, text: 'offered rate (req/s)' } }, ms: { type: 'logarithmic', position: 'left', title: { display: true, text: 'latency (ms)' } }, rps: { type: 'linear', position: 'right', min: 0, title: { display: true, text: 'completed (req/s)' }, grid: { drawOnChartArea: false } } } }
    });
    window.authbenchCharts.push(chart);
  });
})();
`

export function renderCapacityHtml(results: readonly CapacityResult[], slos: readonly Slo[], label: string, chartJs: string = loadChartJs()): string {
  const latencySlos = slos.filter((s) => s.metric !== 'errors' && s.metric !== 'throughput').map((s) => ({ expression: s.expression, thresholdMs: s.threshold / 1000 }))
  const sections = results
    .map((r, i) => `<section><h2>${escapeHtml(r.scenario)}</h2><p>${escapeHtml(describeCapacity(r, slos))}</p><div class="chart"><canvas id="chart-${i}"></canvas></div></section>`)
    .join('\n')
  return renderPage({
    title: `authbench capacity — ${label}`,
    css: '.chart { position: relative; height: 380px; max-width: 960px; } section { margin-bottom: 2rem; }',
    body: `<h1>authbench capacity: ${escapeHtml(label)}</h1>
<p>Objectives: ${escapeHtml(slos.map((s) => s.expression).join(', '))}. Each point is one short open-model trial; latency is measured from each request's intended send time.</p>
${sections}`,
    dataId: 'authbench-data',
    data: { results, latencySlos },
    chartJs,
    script: PAGE_SCRIPT
  })
}
