// Per-scenario summaries from trials: median per-trial throughput, percentiles from the merged
// histogram of valid trials (never an average of percentiles). When no trial is valid the figures
// come from the invalid ones and say so (`figuresFromInvalidTrials`): a reader should see what a
// saturated server did; `compare` and `ab` judge trials by their own validity, never these figures.
// Trials imported from k6 carry no histogram, so their summary holds the medians of the trials'
// own percentiles, marked as such. Journey scenarios get the same treatment per step, per group and
// per iteration (summarizeJourney). Pure: the engine, the k6 path, `compare` and the reporters use it.
import { mergeEncoded, summarizeEncoded } from './recorder.ts'
import { median } from './stats.ts'
import type { CheckFigures, JourneyFigures, LatencySummaryUs, ScenarioSummary, StepFigures, TrialResult } from '../types.ts'

const EMPTY_LATENCY: LatencySummaryUs = Object.freeze({ count: 0, min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 })

export function summarizeScenario(scenario: string, trials: readonly TrialResult[]): ScenarioSummary {
  const mine = trials.filter((t) => t.scenario === scenario)
  const validOnly = mine.filter((t) => t.validity.state === 'valid')
  const fromInvalid = validOnly.length === 0 && mine.length > 0
  const valid = fromInvalid ? mine : validOnly
  const requests = valid.reduce((s, t) => s + t.requests, 0)
  const errors = valid.reduce((s, t) => s + t.errors, 0)
  const cpu = valid.map((t) => t.server?.cpuUsPerRequest).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const bytes = valid.reduce((s, t) => s + t.bytesRead, 0)
  if (valid.length > 0 && valid.every((t) => t.source === 'k6')) return summarizeImported(scenario, mine, valid, requests, errors, bytes)
  const histogram = valid.length === 0 ? '' : mergeEncoded(valid.map((t) => t.histogram))
  return {
    scenario,
    trials: mine.length,
    validTrials: validOnly.length,
    throughputRps: valid.length === 0 ? 0 : median(valid.map((t) => t.throughputRps)),
    latencyUs: histogram === '' ? { ...EMPTY_LATENCY } : summarizeEncoded(histogram),
    errorRate: requests === 0 ? 0 : errors / requests,
    cpuUsPerRequest: cpu.length === 0 ? null : median(cpu),
    meanResponseBytes: requests === 0 ? 0 : bytes / requests,
    histogram,
    ...(fromInvalid ? { figuresFromInvalidTrials: true } : {})
  }
}

function summarizeImported(scenario: string, mine: readonly TrialResult[], valid: readonly TrialResult[], requests: number, errors: number, bytes: number): ScenarioSummary {
  const med = (f: (t: TrialResult) => number): number => Math.round(median(valid.map(f)))
  return {
    scenario,
    trials: mine.length,
    validTrials: valid.length,
    throughputRps: median(valid.map((t) => t.throughputRps)),
    latencyUs: {
      count: valid.reduce((s, t) => s + t.latencyUs.count, 0),
      min: Math.min(...valid.map((t) => t.latencyUs.min)),
      mean: med((t) => t.latencyUs.mean),
      stdev: 0,
      p50: med((t) => t.latencyUs.p50),
      p90: med((t) => t.latencyUs.p90),
      p95: med((t) => t.latencyUs.p95),
      p99: med((t) => t.latencyUs.p99),
      p999: med((t) => t.latencyUs.p999),
      max: Math.max(...valid.map((t) => t.latencyUs.max))
    },
    errorRate: requests === 0 ? 0 : errors / requests,
    cpuUsPerRequest: null,
    meanResponseBytes: requests === 0 ? 0 : bytes / requests,
    histogram: valid[0]?.histogram ?? '',
    source: 'k6'
  }
}

/**
 * The trials a scenario's figures come from, as summarizeScenario picks them: the valid ones, or
 * every trial when none is valid (`fromInvalid`), so that step figures agree with the scenario's.
 */
export function trialsForFigures(scenario: string, trials: readonly TrialResult[]): { trials: TrialResult[]; validTrials: number; fromInvalid: boolean } {
  const mine = trials.filter((t) => t.scenario === scenario)
  const valid = mine.filter((t) => t.validity.state === 'valid')
  const fromInvalid = valid.length === 0 && mine.length > 0
  return { trials: fromInvalid ? mine : valid, validTrials: valid.length, fromInvalid }
}

/** One journey step (or group) over a scenario's trials. */
export interface StepSummary {
  name: string
  requests: number
  successes: number
  errors: number
  errorRate: number
  /** Median of the step's per-trial throughput over the trials that ran it. */
  throughputRps: number
  /** Percentiles of the merged histogram of the trials (never an average of percentiles). */
  latencyUs: LatencySummaryUs
  /** Merged histogram, compressed base64. */
  histogram: string
}

/** A journey scenario's figures over its trials: counts summed, percentiles from merged histograms. */
export interface JourneySummary {
  scenario: string
  /** Trials the figures come from, and how many of the scenario's trials were valid. */
  trials: number
  validTrials: number
  /** No trial was valid: the figures are the invalid trials', as in ScenarioSummary. */
  figuresFromInvalidTrials?: true
  /** In the order the steps were first seen. */
  steps: StepSummary[]
  groups: StepSummary[]
  iterations: {
    started: number
    completed: number
    failed: number
    dropped: number
    /** Median over the trials of completed iterations per second. */
    throughputPerS: number
    latencyUs: LatencySummaryUs
    histogram: string
    /** Failed iterations by `<step>: <why>`, summed. */
    failures: Record<string, number>
  }
  checks: CheckFigures
  /** The most VUs running at once in any trial. */
  peakVus: number
}

function summarizeStepList(journeys: readonly JourneyFigures[], pick: (j: JourneyFigures) => Record<string, StepFigures>): StepSummary[] {
  const names = [...new Set(journeys.flatMap((j) => Object.keys(pick(j))))]
  return names.map((name) => {
    const parts = journeys.map((j) => pick(j)[name])
    const present = parts.filter((s): s is StepFigures => s !== undefined)
    const sum = (key: 'requests' | 'successes' | 'errors'): number => present.reduce((a, s) => a + s[key], 0)
    const histogram = mergeEncoded(present.map((s) => s.histogram))
    const requests = sum('requests')
    return {
      name,
      requests,
      successes: sum('successes'),
      errors: sum('errors'),
      errorRate: requests === 0 ? 0 : sum('errors') / requests,
      throughputRps: median(present.map((s) => s.throughputRps)),
      latencyUs: summarizeEncoded(histogram),
      histogram
    }
  })
}

function mergeChecks(journeys: readonly JourneyFigures[]): CheckFigures {
  const byName: Record<string, { passes: number; failures: number }> = {}
  for (const j of journeys) {
    for (const [name, c] of Object.entries(j.checks.byName)) {
      const seen = (byName[name] ??= { passes: 0, failures: 0 })
      seen.passes += c.passes
      seen.failures += c.failures
    }
  }
  const passes = journeys.reduce((a, j) => a + j.checks.passes, 0)
  const failures = journeys.reduce((a, j) => a + j.checks.failures, 0)
  return { passes, failures, failureRate: passes + failures === 0 ? 0 : failures / (passes + failures), byName }
}

function summarizeIterations(journeys: readonly JourneyFigures[]): JourneySummary['iterations'] {
  const sum = (key: 'started' | 'completed' | 'failed' | 'dropped'): number => journeys.reduce((a, j) => a + j.iterations[key], 0)
  const failures: Record<string, number> = {}
  for (const j of journeys) for (const [why, n] of Object.entries(j.iterations.failures ?? {})) failures[why] = (failures[why] ?? 0) + n
  const histogram = mergeEncoded(journeys.map((j) => j.iterations.histogram))
  return {
    started: sum('started'),
    completed: sum('completed'),
    failed: sum('failed'),
    dropped: sum('dropped'),
    throughputPerS: median(journeys.map((j) => j.iterations.throughputPerS)),
    latencyUs: summarizeEncoded(histogram),
    histogram,
    failures
  }
}

/**
 * A journey scenario's figures from the trials summarizeScenario uses (the valid ones, or all when
 * none is valid); null when none of them ran a journey. `trials` may be one arm's.
 */
export function summarizeJourney(scenario: string, trials: readonly TrialResult[]): JourneySummary | null {
  const picked = trialsForFigures(scenario, trials)
  const journeys = picked.trials.map((t) => t.journey).filter((j): j is JourneyFigures => j !== undefined)
  if (journeys.length === 0) return null
  return {
    scenario,
    trials: journeys.length,
    validTrials: picked.validTrials,
    ...(picked.fromInvalid ? { figuresFromInvalidTrials: true as const } : {}),
    steps: summarizeStepList(journeys, (j) => j.steps),
    groups: summarizeStepList(journeys, (j) => j.groups),
    iterations: summarizeIterations(journeys),
    checks: mergeChecks(journeys),
    peakVus: Math.max(...journeys.map((j) => j.peakVus))
  }
}

/** Per-step figures of a journey scenario, merged over its trials as summarizeJourney does; [] without a journey. */
export function summarizeSteps(scenario: string, trials: readonly TrialResult[]): StepSummary[] {
  return summarizeJourney(scenario, trials)?.steps ?? []
}

/** How many of the trials behind a scenario's figures dropped work, and how much. */
export interface LatencyLowerBound {
  /** Trials marked `latencyLowerBound`, of `of` the figures come from. */
  trials: number
  of: number
  /** Work dropped in those trials: iterations for a journey, requests otherwise. */
  dropped: number
  unit: 'iterations' | 'requests'
}

/**
 * Whether a scenario's merged percentiles are lower bounds: some trial they come from dropped work
 * (what was dropped would have waited longest). Null when none did.
 */
export function latencyLowerBoundOf(scenario: string, trials: readonly TrialResult[]): LatencyLowerBound | null {
  const picked = trialsForFigures(scenario, trials).trials
  const marked = picked.filter((t) => t.latencyLowerBound === true)
  if (marked.length === 0) return null
  return {
    trials: marked.length,
    of: picked.length,
    dropped: marked.reduce((a, t) => a + (t.openModel?.dropped ?? t.journey?.iterations.dropped ?? 0), 0),
    unit: marked.some((t) => t.journey !== undefined) ? 'iterations' : 'requests'
  }
}
