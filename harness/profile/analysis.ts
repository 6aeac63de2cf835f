// From profiled trials to what the reports show: per-function self and total CPU µs per request
// for each arm (or phase), the differential table B against A with an interval over pairs (each
// pair's own profiles, divided by that trial's own completed requests), and aggregated call trees
// for flame graphs. Pure functions of the run's result and its profiles.
import { bootstrapOneSample, median, medianStatistic } from '../stats/stats.ts'
import type { RunResult, TrialResult } from '../types.ts'
import { addToTree, emptyTree, functionTable } from './cpuprofile.ts'
import type { CpuProfile, FunctionId, TreeNode } from './cpuprofile.ts'
import type { ProfiledTrial } from './profiler.ts'

/**
 * The noise floor the reports apply: a row is "beyond noise" when its 95% interval over pairs
 * clears zero by more than this many CPU µs per request, or this share of the scenario's profiled
 * CPU µs per request, whichever is larger. In an A/A run (`ab --a phase2 --b phase2 --profile
 * --scenario token,validate`, docs/profiling.md) no function's interval cleared zero
 * by more than 0.09 µs/req (0.12% of token's profiled CPU); the floor is about five times that,
 * for noisier spells than that one run met.
 */
export const NOISE_FLOOR = Object.freeze({ absoluteUs: 0.5, relative: 0.01 })

/** Rows bootstrapped per table: the largest |Δ| first; smaller ones cannot clear the floor anyway. */
const ROWS_WITH_INTERVAL = 30

export interface ProfileSample {
  scenario: string
  group: string
  pair: number
  requests: number
  valid: boolean
  profile: CpuProfile
}

/** Joins the profiles to their trials: `ab` by arm and pair, `phases` by variant and round, `run` by trial. */
export function joinTrials(result: RunResult, profiled: readonly ProfiledTrial[]): ProfileSample[] {
  const keyOf = (t: TrialResult): { group: string; pair: number } => {
    if (result.kind === 'ab') return { group: t.arm ?? '', pair: t.pair ?? -1 }
    if (result.kind === 'variants') return { group: t.variant ?? '', pair: t.round ?? -1 }
    return { group: '', pair: t.trial }
  }
  const trials = new Map(
    result.trials.map((t) => {
      const k = keyOf(t)
      return [`${t.scenario}\u0000${k.group}\u0000${k.pair}`, t] as const
    })
  )
  const out: ProfileSample[] = []
  for (const p of profiled) {
    const t = trials.get(`${p.scenario}\u0000${p.group}\u0000${p.pair}`)
    if (t === undefined) continue
    out.push({ scenario: p.scenario, group: p.group, pair: p.pair, requests: t.requests, valid: t.validity.state === 'valid' && t.requests > 0, profile: p.profile })
  }
  return out
}

export interface DiffRow {
  name: string
  url: string
  line: number
  /** Medians over pairs, CPU µs per request. */
  a: number
  b: number
  /** Median over pairs of the per-pair B − A. */
  delta: number
  /** 95% bootstrap interval over pairs of that median; null for rows not bootstrapped. */
  low: number | null
  high: number | null
  /** How far the interval lies from zero (0 when it includes zero). */
  excessUs: number
}

export interface ScenarioDiff {
  scenario: string
  a: string
  b: string
  pairs: number
  /** Profiled CPU (busy samples) µs per request, medians over pairs. */
  busyA: number
  busyB: number
  noiseFloorUs: number
  self: DiffRow[]
  total: DiffRow[]
}

/** Per-function µs per request of one trial's profile. */
function perRequest(sample: ProfileSample): { self: Map<string, number>; total: Map<string, number>; ids: Map<string, FunctionId>; busy: number } {
  const table = functionTable(sample.profile)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const ids = new Map<string, FunctionId>()
  for (const [key, f] of table.functions) {
    self.set(key, f.selfUs / sample.requests)
    total.set(key, f.totalUs / sample.requests)
    ids.set(key, f.id)
  }
  return { self, total, ids, busy: table.busyUs / sample.requests }
}

export function noiseFloorUs(busyUsPerRequest: number): number {
  return Math.max(NOISE_FLOOR.absoluteUs, NOISE_FLOOR.relative * busyUsPerRequest)
}

/** B against A for one scenario, over the pairs where both arms have a valid profiled trial. */
export function diffScenario(samples: readonly ProfileSample[], scenario: string, a: string, b: string, options: { seed?: number } = {}): ScenarioDiff | null {
  const of = (group: string): Map<number, ProfileSample> => new Map(samples.filter((s) => s.scenario === scenario && s.group === group && s.valid).map((s) => [s.pair, s]))
  const sa = of(a)
  const sb = of(b)
  const pairs = [...sa.keys()].filter((p) => sb.has(p)).sort((x, y) => x - y)
  if (pairs.length === 0) return null
  const pa = pairs.map((p) => perRequest(sa.get(p) as ProfileSample))
  const pb = pairs.map((p) => perRequest(sb.get(p) as ProfileSample))
  const ids = new Map<string, FunctionId>()
  for (const x of [...pa, ...pb]) for (const [k, id] of x.ids) ids.set(k, id)
  const busyA = median(pa.map((x) => x.busy))
  const busyB = median(pb.map((x) => x.busy))
  const floor = noiseFloorUs(Math.max(busyA, busyB))
  const table = (kind: 'self' | 'total'): DiffRow[] => {
    const rows = [...ids.entries()].map(([key, id]) => {
      const av = pa.map((x) => x[kind].get(key) ?? 0)
      const bv = pb.map((x) => x[kind].get(key) ?? 0)
      const d = av.map((v, i) => (bv[i] as number) - v)
      return { key, id, av, bv, d, delta: median(d) }
    })
    rows.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.id.name.localeCompare(y.id.name))
    return rows.map((r, index): DiffRow => {
      let low: number | null = null
      let high: number | null = null
      if (index < ROWS_WITH_INTERVAL && r.d.length > 1) {
        const ci = bootstrapOneSample(r.d.length, medianStatistic(r.d), { seed: options.seed ?? 1, resamples: 2_000 })
        low = Number.isFinite(ci.low) ? ci.low : null
        high = Number.isFinite(ci.high) ? ci.high : null
      }
      const excessUs = low !== null && low > 0 ? low : high !== null && high < 0 ? -high : 0
      return { name: r.id.name, url: r.id.url, line: r.id.line, a: median(r.av), b: median(r.bv), delta: r.delta, low, high, excessUs }
    })
  }
  return { scenario, a, b, pairs: pairs.length, busyA, busyB, noiseFloorUs: floor, self: table('self'), total: table('total') }
}

/** One arm's (or phase's) call tree over all its valid profiled trials, in CPU µs per request. */
export function treeOf(samples: readonly ProfileSample[], scenario: string, group: string): TreeNode {
  const mine = samples.filter((s) => s.scenario === scenario && s.group === group && s.valid)
  const requests = mine.reduce((acc, s) => acc + s.requests, 0)
  const tree = emptyTree()
  for (const s of mine) addToTree(tree, s.profile, requests > 0 ? 1 / requests : 0)
  return tree
}

export interface ProfileAnalysis {
  samplingIntervalUs: number
  /** Groups in order (A, B; or the presets), and the comparisons made between them. */
  groups: string[]
  diffs: ScenarioDiff[]
  trees: Array<{ scenario: string; group: string; tree: TreeNode }>
}

/**
 * `ab`: B against A per scenario. `phases`: each preset against the one before it. `run`: no
 * differential, one tree per scenario.
 */
export function analyseProfiles(result: RunResult, samples: readonly ProfileSample[], groups: readonly string[], samplingIntervalUs: number): ProfileAnalysis {
  const diffs: ScenarioDiff[] = []
  const trees: ProfileAnalysis['trees'] = []
  for (const scenario of result.scenarios) {
    for (const group of groups) trees.push({ scenario, group, tree: treeOf(samples, scenario, group) })
    for (let i = 1; i < groups.length; i++) {
      const d = diffScenario(samples, scenario, groups[i - 1] as string, groups[i] as string)
      if (d !== null) diffs.push(d)
    }
  }
  return { samplingIntervalUs, groups: [...groups], diffs, trees }
}
