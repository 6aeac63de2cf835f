// The profile's part of the reports: report.md / phases.md get the top rows of each differential
// table; report.html / phases.html get the tables, a differential flame graph per comparison and a
// flame graph per arm (or phase). Also writes the .cpuprofile files (one per arm and scenario,
// every profiled trial of that arm merged), which open in Chrome DevTools and speedscope.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ensureDir } from '../result-io.ts'
import type { ProfileInfo, RunResult } from '../types.ts'
import type { ProfileAnalysis, DiffRow, ScenarioDiff, ProfileSample } from './analysis.ts'
import { mergeProfiles } from './cpuprofile.ts'
import { renderDiffFlameGraph, renderFlameGraph } from './flamegraph.ts'

const MD_ROWS = 5
const HTML_ROWS = 15

function fmt(v: number): string {
  const a = Math.abs(v)
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2)
}

function signed(v: number): string {
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${fmt(Math.abs(v))}`
}

function interval(r: DiffRow): string {
  return r.low === null || r.high === null ? '—' : `[${signed(r.low)}, ${signed(r.high)}]`
}

function where(r: DiffRow): string {
  return r.url === '' ? '(native)' : `${r.url}${r.line > 0 ? `:${r.line}` : ''}`
}

function beyondNoise(r: DiffRow, d: ScenarioDiff): boolean {
  return r.excessUs > d.noiseFloorUs
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function mdTable(d: ScenarioDiff, rows: DiffRow[], kind: string): string[] {
  const lines = [`| function (${kind}) | file:line | ${d.a} µs/req | ${d.b} µs/req | Δ µs/req | 95% interval | |`, '|---|---|---:|---:|---:|---|---|']
  for (const r of rows)
    lines.push(`| \`${mdCell(r.name)}\` | ${mdCell(where(r))} | ${fmt(r.a)} | ${fmt(r.b)} | ${signed(r.delta)} | ${interval(r)} | ${beyondNoise(r, d) ? 'beyond noise' : ''} |`)
  return lines
}

/** report.md's section: per scenario, the top rows by |Δ self| and by |Δ total|. */
export function renderProfileMarkdown(analysis: ProfileAnalysis): string {
  if (analysis.diffs.length === 0) return ''
  const lines = ['## CPU profile: where the difference is', '']
  lines.push(
    `<sub>Self = time in the function's own code, total = with everything it calls; CPU µs per completed request from V8 samples every ${analysis.samplingIntervalUs} µs over the measured slots only; Δ and its 95% bootstrap interval over pairs from each pair's own profiles. "beyond noise": the interval excludes zero by more than the A/A noise floor.</sub>`,
    ''
  )
  for (const d of analysis.diffs) {
    lines.push(
      `### ${mdCell(d.scenario)}: ${mdCell(d.b)} against ${mdCell(d.a)} (${d.pairs} pairs; profiled CPU ${fmt(d.busyA)} → ${fmt(d.busyB)} µs/req; noise floor ${fmt(d.noiseFloorUs)} µs/req)`,
      ''
    )
    lines.push(...mdTable(d, d.self.slice(0, MD_ROWS), 'self'), '')
    lines.push(...mdTable(d, d.total.slice(0, MD_ROWS), 'total'), '')
  }
  return lines.join('\n')
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function htmlTable(d: ScenarioDiff, rows: DiffRow[], kind: 'self' | 'total'): string {
  const body = rows
    .map(
      (r) =>
        `<tr class="${r.delta > 0 ? 'more' : r.delta < 0 ? 'less' : ''}${beyondNoise(r, d) ? ' beyond' : ''}"><td><code>${esc(r.name)}</code></td><td>${esc(where(r))}</td><td>${fmt(r.a)}</td><td>${fmt(r.b)}</td><td>${signed(r.delta)}</td><td>${interval(r)}</td><td>${beyondNoise(r, d) ? 'beyond noise' : ''}</td></tr>`
    )
    .join('')
  return `<table class="profile-diff" data-profile-table="${kind}" data-scenario="${esc(d.scenario)}"><thead><tr><th>function (${kind})</th><th>file:line</th><th>${esc(d.a)} µs/req</th><th>${esc(d.b)} µs/req</th><th>Δ µs/req</th><th>95% interval</th><th></th></tr></thead><tbody>${body}</tbody></table>`
}

const CSS = `<style>
.profile-diff tr.more td:nth-child(5) { color: #b91c1c; } .profile-diff tr.less td:nth-child(5) { color: #1d4ed8; } .profile-diff tr.beyond { font-weight: 600; }
.profile-diff td:nth-child(2) { text-align: left; font-size: 12px; }
figure.flame { margin: 0.5rem 0 1rem; overflow-x: auto; } figure.flame figcaption { font-weight: 600; margin-bottom: 0.2rem; }
figure.flame text { pointer-events: none; fill: #111827; } figure.flame g.frame:hover rect { stroke: #111827; stroke-width: 0.6; }
</style>`

/** report.html's section: tables, the differential flame graph and one flame graph per arm, per scenario. */
export function renderProfileHtml(analysis: ProfileAnalysis): string {
  if (analysis.trees.length === 0) return ''
  const parts = [
    CSS,
    '<h2 id="profile">CPU profile</h2>',
    `<p><small>V8 samples every ${analysis.samplingIntervalUs} µs, over the measured slots only. Values are CPU µs per completed request; Δ is the median over pairs of B − A with a 95% bootstrap interval over pairs. Differential flame graph: width = the mean of both sides, colour = change in self time (red: ${esc(analysis.groups.at(-1) ?? 'B')} spends more, blue: less). Hover a frame for its figures.</small></p>`
  ]
  const scenarios = [...new Set(analysis.trees.map((t) => t.scenario))]
  for (const scenario of scenarios) {
    parts.push(`<h3>${esc(scenario)}</h3>`)
    for (const d of analysis.diffs.filter((x) => x.scenario === scenario)) {
      parts.push(`<p>${esc(d.b)} against ${esc(d.a)}: ${d.pairs} pairs; profiled CPU ${fmt(d.busyA)} → ${fmt(d.busyB)} µs/req; noise floor ${fmt(d.noiseFloorUs)} µs/req.</p>`)
      parts.push(htmlTable(d, d.self.slice(0, HTML_ROWS), 'self'), htmlTable(d, d.total.slice(0, HTML_ROWS), 'total'))
      const ta = analysis.trees.find((t) => t.scenario === scenario && t.group === d.a)
      const tb = analysis.trees.find((t) => t.scenario === scenario && t.group === d.b)
      if (ta !== undefined && tb !== undefined)
        parts.push(renderDiffFlameGraph(ta.tree, tb.tree, `${scenario}: ${d.b} against ${d.a} (red: more self time in ${d.b}, blue: less)`, { a: d.a, b: d.b }))
    }
    for (const t of analysis.trees.filter((x) => x.scenario === scenario)) {
      if (t.tree.total <= 0) continue
      parts.push(renderFlameGraph(t.tree, `${scenario}${t.group === '' ? '' : `: ${t.group}`} (${fmt(t.tree.total)} profiled CPU µs/req)`))
    }
  }
  return parts.join('\n')
}

function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^-+|-+$/g, '') || 'run'
}

/** Writes `<dir>/profiles/<scenario>[-<group>].cpuprofile`, every valid profiled trial of that group merged. */
export async function writeProfiles(
  result: RunResult,
  samples: readonly ProfileSample[],
  groups: readonly string[],
  resultDir: string,
  samplingIntervalUs: number
): Promise<ProfileInfo> {
  const dir = path.join(resultDir, 'profiles')
  await ensureDir(dir)
  const files: string[] = []
  for (const scenario of result.scenarios) {
    for (const group of groups) {
      const mine = samples.filter((s) => s.scenario === scenario && s.group === group)
      if (mine.length === 0) continue
      const merged = mergeProfiles(mine.map((s) => ({ profile: s.profile })))
      const name = `${fileSafe(scenario)}${group === '' ? '' : `-${fileSafe(group)}`}.cpuprofile`
      await writeFile(path.join(dir, name), JSON.stringify(merged))
      files.push(name)
    }
  }
  return { samplingIntervalUs, groups: [...groups], dir: 'profiles', files }
}
