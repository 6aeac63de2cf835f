// A journey's raw counts (the driver's JourneyOutcome) as a trial's figures: rates over the
// measured window and histogram summaries per step, group and iteration; how the slots of an A/B
// arm merge into one; and when dropped work makes a trial's percentiles lower bounds.
import { mergeEncoded, summarizeEncoded } from '../stats/recorder.ts'
import type { JourneyFigures, StepFigures } from '../types.ts'
import type { DriverOutcome, JourneyOutcome, StepOutcome } from './drivers/types.ts'

function stepFigures(step: StepOutcome, durationS: number): StepFigures {
  return {
    requests: step.requests,
    successes: step.successes,
    errors: step.errors,
    errorRate: step.requests === 0 ? 0 : step.errors / step.requests,
    throughputRps: durationS > 0 ? step.requests / durationS : 0,
    latencyUs: summarizeEncoded(step.histogram),
    histogram: step.histogram,
    statusCounts: step.statusCounts,
    errorsByKind: step.errorsByKind
  }
}

export function journeyFigures(journey: JourneyOutcome, durationMs: number): JourneyFigures {
  const durationS = durationMs / 1000
  const map = (steps: Record<string, StepOutcome>): Record<string, StepFigures> => Object.fromEntries(Object.entries(steps).map(([name, s]) => [name, stepFigures(s, durationS)]))
  let passes = 0
  let failures = 0
  for (const c of Object.values(journey.checks)) {
    passes += c.passes
    failures += c.failures
  }
  const it = journey.iterations
  return {
    iterations: {
      started: it.started,
      completed: it.completed,
      failed: it.failed,
      dropped: it.dropped,
      throughputPerS: durationS > 0 ? it.completed / durationS : 0,
      latencyUs: summarizeEncoded(it.histogram),
      histogram: it.histogram,
      ...(Object.keys(journey.failures).length === 0 ? {} : { failures: journey.failures })
    },
    steps: map(journey.steps),
    groups: map(journey.groups),
    checks: { passes, failures, failureRate: passes + failures === 0 ? 0 : failures / (passes + failures), byName: journey.checks },
    peakVus: journey.peakVus
  }
}

/** Counts summed, statuses and errors by kind added up, histograms added bucket by bucket (exact percentiles). */
export function mergeCounts(parts: readonly StepOutcome[]): StepOutcome {
  const sum = (key: 'requests' | 'successes' | 'errors' | 'bytesRead'): number => parts.reduce((a, s) => a + s[key], 0)
  const statusCounts: Record<string, number> = {}
  const byStatus: Record<string, number> = {}
  for (const s of parts) {
    for (const [k, v] of Object.entries(s.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v
    for (const [k, v] of Object.entries(s.errorsByKind.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v
  }
  const kind = (key: 'timeouts' | 'resets' | 'other'): number => parts.reduce((a, s) => a + s.errorsByKind[key], 0)
  return {
    requests: sum('requests'),
    successes: sum('successes'),
    errors: sum('errors'),
    bytesRead: sum('bytesRead'),
    histogram: mergeEncoded(parts.map((s) => s.histogram)),
    statusCounts,
    errorsByKind: { byStatus, timeouts: kind('timeouts'), resets: kind('resets'), other: kind('other') }
  }
}

function mergeSteps(all: ReadonlyArray<Record<string, StepOutcome>>): Record<string, StepOutcome> {
  const names = [...new Set(all.flatMap((steps) => Object.keys(steps)))]
  return Object.fromEntries(names.map((name) => [name, mergeCounts(all.map((steps) => steps[name]).filter((s): s is StepOutcome => s !== undefined))]))
}

/** The slots of one A/B arm as one journey outcome: counts summed, histograms added bucket by bucket. */
export function mergeJourneyOutcomes(parts: readonly JourneyOutcome[]): JourneyOutcome | undefined {
  if (parts.length === 0) return undefined
  const checks: Record<string, { passes: number; failures: number }> = {}
  const failures: Record<string, number> = {}
  for (const p of parts) {
    for (const [name, c] of Object.entries(p.checks)) {
      const seen = (checks[name] ??= { passes: 0, failures: 0 })
      seen.passes += c.passes
      seen.failures += c.failures
    }
    for (const [why, n] of Object.entries(p.failures)) failures[why] = (failures[why] ?? 0) + n
  }
  const it = (key: 'started' | 'completed' | 'failed' | 'dropped'): number => parts.reduce((a, p) => a + p.iterations[key], 0)
  return {
    iterations: {
      started: it('started'),
      completed: it('completed'),
      failed: it('failed'),
      dropped: it('dropped'),
      histogram: mergeEncoded(parts.map((p) => p.iterations.histogram))
    },
    failures,
    steps: mergeSteps(parts.map((p) => p.steps)),
    groups: mergeSteps(parts.map((p) => p.groups)),
    checks,
    peakVus: Math.max(...parts.map((p) => p.peakVus))
  }
}

/**
 * Dropped work (sends or iterations that found every in-flight slot taken past their start
 * deadline) would have waited longest: with any of it, each percentile is a lower bound.
 */
export function latencyLowerBound(outcome: Pick<DriverOutcome, 'openModel'>): boolean {
  return (outcome.openModel?.dropped ?? 0) > 0
}
