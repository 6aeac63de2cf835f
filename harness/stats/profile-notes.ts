// What a comparison must say when profiling differs between the sides: the profiler costs
// throughput and CPU per request (docs/profiling.md), so a profiled side is not
// comparable with an unprofiled one as if nothing differed.
import type { RunResult } from '../types.ts'

/** A note for `compare` (two runs) when only one of them was profiled, or at different intervals. */
export function profileNoteForRuns(baseline: RunResult, current: RunResult): string | null {
  const b = baseline.profile
  const c = current.profile
  if (b === undefined && c === undefined) return null
  if (b === undefined || c === undefined) {
    return `only the ${b === undefined ? 'current' : 'baseline'} run was CPU-profiled (--profile): the profiler's own cost is in its figures, so a difference may be the profiler`
  }
  if (b.samplingIntervalUs !== c.samplingIntervalUs)
    return `both runs were CPU-profiled, at different sampling intervals (${b.samplingIntervalUs} → ${c.samplingIntervalUs} µs): the profiler's cost differs between them`
  return null
}

/** A note for `ab` when the arms were not profiled alike. */
export function profileNoteForArms(result: RunResult): string | null {
  const p = result.profile
  if (p === undefined) return null
  const a = p.groups.includes('A')
  const b = p.groups.includes('B')
  if (a && b) return null
  return `only arm ${a ? 'A' : 'B'} was CPU-profiled (--profile-arm): the difference between the arms includes the profiler's cost`
}
