// Journeys, step by step: each step of a journey trial as a trial of its own (`<scenario>/<step>`),
// and the iterations as one more (`<scenario> (iterations)`), so that whatever takes trials (the
// summaries, the gate's comparisons, the SLOs) works per step without a second code path. A
// step's percentiles come from its own merged histograms, exactly as a scenario's do.
import { summarizeJourney, summarizeScenario } from './summary.ts'
import type { RunResult, ScenarioSummary, SeriesPart, TrialResult } from '../types.ts'

// Which journey a step trial belongs to, kept beside it rather than in it: a step trial must look
// like any trial to the code that judges it.
const PARTS = new WeakMap<TrialResult, SeriesPart>()

/** The journey part a trial made by stepTrials stands for; undefined for a real trial. */
export function seriesPartOf(trial: TrialResult | undefined): SeriesPart | undefined {
  return trial === undefined ? undefined : PARTS.get(trial)
}

/** The series name of a step: `client-session/validate`. */
export function stepSeriesName(scenario: string, step: string): string {
  return `${scenario}/${step}`
}

/** The series name of a journey's iterations. */
export function iterationSeriesName(scenario: string): string {
  return `${scenario} (iterations)`
}

/** A journey trial's step as a trial: its counts and histogram, the parent's validity and time; no server figures (they are the whole trial's). */
function stepTrial(trial: TrialResult, step: string): TrialResult | null {
  const s = trial.journey?.steps[step]
  if (s === undefined) return null
  return tagged(
    { scenario: trial.scenario, kind: 'step', step },
    {
      scenario: stepSeriesName(trial.scenario, step),
      trial: trial.trial,
      ...pairing(trial),
      startedAt: trial.startedAt,
      durationMs: trial.durationMs,
      requests: s.requests,
      successes: s.successes,
      errors: s.errors,
      errorRate: s.errorRate,
      throughputRps: s.throughputRps,
      bytesRead: 0,
      meanResponseBytes: 0,
      latencyUs: s.latencyUs,
      histogram: s.histogram,
      errorsByKind: s.errorsByKind,
      statusCounts: s.statusCounts,
      timeline: [],
      server: null,
      validity: trial.validity,
      ...(trial.latencyLowerBound === true ? { latencyLowerBound: true } : {})
    }
  )
}

function tagged(part: SeriesPart, trial: TrialResult): TrialResult {
  PARTS.set(trial, part)
  return trial
}

function iterationTrial(trial: TrialResult): TrialResult | null {
  const it = trial.journey?.iterations
  if (it === undefined) return null
  const ended = it.completed + it.failed
  return tagged(
    { scenario: trial.scenario, kind: 'iterations' },
    {
      scenario: iterationSeriesName(trial.scenario),
      trial: trial.trial,
      ...pairing(trial),
      startedAt: trial.startedAt,
      durationMs: trial.durationMs,
      requests: ended,
      successes: it.completed,
      errors: it.failed,
      errorRate: ended === 0 ? 0 : it.failed / ended,
      throughputRps: it.throughputPerS,
      bytesRead: 0,
      meanResponseBytes: 0,
      latencyUs: it.latencyUs,
      histogram: it.histogram,
      errorsByKind: { byStatus: {}, timeouts: 0, resets: 0, other: it.failed },
      statusCounts: {},
      timeline: [],
      server: null,
      validity: trial.validity,
      ...(trial.latencyLowerBound === true ? { latencyLowerBound: true } : {})
    }
  )
}

function pairing(trial: TrialResult): Partial<Pick<TrialResult, 'arm' | 'pair' | 'variant' | 'round'>> {
  const out: Partial<Pick<TrialResult, 'arm' | 'pair' | 'variant' | 'round'>> = {}
  if (trial.arm !== undefined) out.arm = trial.arm
  if (trial.pair !== undefined) out.pair = trial.pair
  if (trial.variant !== undefined) out.variant = trial.variant
  if (trial.round !== undefined) out.round = trial.round
  return out
}

/** Every step of a scenario's trials, in the order first seen. */
export function stepNames(trials: readonly TrialResult[], scenario: string): string[] {
  const names = new Set<string>()
  for (const t of trials) if (t.scenario === scenario) for (const step of Object.keys(t.journey?.steps ?? {})) names.add(step)
  return [...names]
}

/** The journey trials' steps and iterations as trials of their own (none for a trial without a journey). */
export function stepTrials(trials: readonly TrialResult[]): TrialResult[] {
  const out: TrialResult[] = []
  for (const trial of trials) {
    if (trial.journey === undefined) continue
    for (const step of Object.keys(trial.journey.steps)) {
      const t = stepTrial(trial, step)
      if (t !== null) out.push(t)
    }
    const it = iterationTrial(trial)
    if (it !== null) out.push(it)
  }
  return out
}

/**
 * A scenario's summary with, for a journey, each step's and the iterations' summaries (merged
 * histograms of the same trials) and the checks. Without journeys, exactly summarizeScenario's.
 */
export function summarizeWithSteps(scenario: string, trials: readonly TrialResult[]): ScenarioSummary {
  const summary = summarizeScenario(scenario, trials)
  const mine = trials.filter((t) => t.scenario === scenario && t.journey !== undefined)
  if (mine.length === 0) return summary
  const expanded = stepTrials(mine)
  const steps = Object.fromEntries(stepNames(mine, scenario).map((step) => [step, summarizeScenario(stepSeriesName(scenario, step), expanded)]))
  return {
    ...summary,
    steps,
    iterations: summarizeScenario(iterationSeriesName(scenario), expanded),
    checks: summarizeJourney(scenario, trials)?.checks ?? { passes: 0, failures: 0, failureRate: 0, byName: {} }
  }
}

/**
 * A result with its journeys' steps and iterations as scenarios of their own, each right after its
 * journey and under its journey's load settings: what the gate compares, so that a verdict names
 * the step that moved. A result without journeys comes back as it was.
 */
export function withStepSeries(result: RunResult): RunResult {
  const extra = stepTrials(result.trials)
  if (extra.length === 0) return result
  const order: string[] = []
  const load: RunResult['load'] = { ...result.load }
  for (const scenario of [...new Set(result.trials.map((t) => t.scenario))]) {
    order.push(scenario)
    for (const t of extra) {
      const part = PARTS.get(t)
      if (part?.scenario !== scenario || order.includes(t.scenario)) continue
      order.push(t.scenario)
      const parentLoad = result.load[scenario]
      if (parentLoad !== undefined) load[t.scenario] = parentLoad
    }
  }
  const all = [...result.trials, ...extra]
  return { ...result, load, trials: order.flatMap((name) => all.filter((t) => t.scenario === name)) }
}
