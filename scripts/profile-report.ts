// Reads `ab --profile` / `phases --profile` result folders and prints the figures
// docs/profiling.md states about profiling, from the runs' own files:
// - the gate's change per scenario (median per-pair B/A − 1 of throughput; median per-pair B − A
//   of CPU µs/req): with `--profile-arm b` on an A/A run, that is the profiler's own cost;
// - the top rows of the differential table (self), and Δ self of the top function against the
//   gate's CPU µs/req change (the injected-function check);
// - the largest distance from zero of any function's interval (self and total tables), absolute
//   and as a share of the scenario's profiled CPU µs/req: on A/A runs, the noise floor.
//   node --import tsx scripts/profile-report.ts <result dir>...
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ScenarioDiff } from '../harness/profile/analysis.ts'
import { median } from '../harness/stats/stats.ts'
import type { RunResult, TrialResult } from '../harness/types.ts'

function groupOf(result: RunResult, t: TrialResult): { group: string; pair: number } {
  return result.kind === 'variants' ? { group: t.variant ?? '', pair: t.round ?? -1 } : { group: t.arm ?? '', pair: t.pair ?? -1 }
}

function perPair(result: RunResult, scenario: string, a: string, b: string, value: (t: TrialResult) => number | null): number[] {
  const byKey = new Map<string, TrialResult>()
  for (const t of result.trials.filter((x) => x.scenario === scenario && x.validity.state === 'valid')) {
    const k = groupOf(result, t)
    byKey.set(`${k.group}/${k.pair}`, t)
  }
  const out: number[] = []
  for (const t of byKey.values()) {
    const k = groupOf(result, t)
    if (k.group !== a) continue
    const other = byKey.get(`${b}/${k.pair}`)
    const va = value(t)
    const vb = other === undefined ? null : value(other)
    if (va !== null && vb !== null) out.push(vb - va)
  }
  return out
}

const fmt = (v: number, digits = 2): string => (v >= 0 ? '+' : '') + v.toFixed(digits)

for (const dir of process.argv.slice(2)) {
  const result = JSON.parse(await readFile(path.join(dir, 'result.json'), 'utf8')) as RunResult
  const diffFile = path.join(dir, 'profiles', 'diff.json')
  const diffs = await readFile(diffFile, 'utf8')
    .then((t) => (JSON.parse(t) as { diffs: ScenarioDiff[] }).diffs)
    .catch(() => [] as ScenarioDiff[])
  console.log(
    `\n${dir} (${result.kind}, profiled: ${result.profile === undefined ? 'no' : `${result.profile.groups.join(',') || 'run'} every ${result.profile.samplingIntervalUs} µs`})`
  )
  const pairsOf = result.kind === 'variants' ? [...new Set(diffs.map((d) => `${d.a}>${d.b}`))].map((x) => x.split('>') as [string, string]) : [['A', 'B'] as [string, string]]
  for (const scenario of result.scenarios) {
    for (const [a, b] of pairsOf) {
      const relTput = (() => {
        const ratios: number[] = []
        const map = new Map(
          result.trials.filter((t) => t.scenario === scenario && t.validity.state === 'valid').map((t) => [`${groupOf(result, t).group}/${groupOf(result, t).pair}`, t])
        )
        for (const [k, t] of map) {
          const [g, p] = k.split('/')
          if (g !== a) continue
          const o = map.get(`${b}/${p}`)
          if (o !== undefined) ratios.push(o.throughputRps / t.throughputRps - 1)
        }
        return ratios
      })()
      const cpu = perPair(result, scenario, a, b, (t) => t.server?.cpuUsPerRequest ?? null)
      const cpuA = median(
        result.trials.filter((t) => t.scenario === scenario && groupOf(result, t).group === a && t.server?.cpuUsPerRequest != null).map((t) => t.server?.cpuUsPerRequest as number)
      )
      if (relTput.length === 0) continue
      console.log(
        `  ${scenario} ${b} vs ${a}: ${relTput.length} pairs; throughput ${fmt(median(relTput) * 100, 1)}% (per pair: ${relTput.map((r) => fmt(r * 100, 1)).join(' ')}); CPU µs/req ${fmt(median(cpu))} on ${cpuA.toFixed(1)} (${fmt((median(cpu) / cpuA) * 100, 1)}%)`
      )
      const d = diffs.find((x) => x.scenario === scenario && x.a === a && x.b === b)
      if (d === undefined) continue
      const top = d.self[0]
      if (top !== undefined) {
        console.log(
          `    top Δ self: ${top.name} (${top.url}:${top.line}) ${top.a.toFixed(2)} → ${top.b.toFixed(2)} µs/req, Δ ${fmt(top.delta)} [${top.low === null ? '—' : fmt(top.low)}, ${top.high === null ? '—' : fmt(top.high)}]; against the gate's CPU change: ${(top.delta / median(cpu)).toFixed(2)}×`
        )
      }
      for (const r of d.self.slice(1, 5))
        console.log(`      ${r.name} (${r.url}:${r.line}) Δ ${fmt(r.delta)} [${r.low === null ? '—' : fmt(r.low)}, ${r.high === null ? '—' : fmt(r.high)}]`)
      const rows = [...d.self.map((r) => ({ ...r, table: 'self' })), ...d.total.map((r) => ({ ...r, table: 'total' }))]
      const worst = rows.reduce((m, r) => (r.excessUs > m.excessUs ? r : m), rows[0] as (typeof rows)[number])
      const busy = Math.max(d.busyA, d.busyB)
      console.log(
        `    profiled CPU ${d.busyA.toFixed(1)} → ${d.busyB.toFixed(1)} µs/req; largest interval distance from zero: ${worst.excessUs.toFixed(2)} µs/req (${((worst.excessUs / busy) * 100).toFixed(2)}% of ${busy.toFixed(1)}) in ${worst.table} of ${worst.name}; floor used ${d.noiseFloorUs.toFixed(2)} µs/req`
      )
    }
  }
}
