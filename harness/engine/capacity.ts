// The capacity search: the highest offered rate (open model) at which a scenario still meets its
// service-level objectives. Coarse steps (the rate doubles from a start until a step fails), then
// bisection between the last rate that passed and the first that failed, then repeats at both ends
// of the final interval (a lucky pass or an unlucky failure near the knee is not believed once).
// Every step is a fresh short trial that must be generator-valid: a step the GENERATOR could not
// keep (CLIENT_LIMITED) ends the search upwards, and the capacity is then reported as a lower
// bound. Pure logic over an injected `measure` so tests can drive it with fakes; the command in
// commands/capacity.ts runs real trials.
import type { Slo } from '../stats/slo.ts'
import { checkSlos } from '../stats/slo.ts'
import type { ScenarioSummary, SloResult, TrialResult } from '../types.ts'

export interface CapacitySettings {
  startRps: number
  maxRps: number
  /** Bisection stops when (fail − pass) / pass is at most this. */
  precision: number
  /** Trials at each end of the final interval (the first measurement counts as one). */
  repeats: number
  slos: readonly Slo[]
}

/** One trial at one rate, as the search needs it. */
export interface CapacityStep {
  rateRps: number
  phase: 'coarse' | 'bisect' | 'repeat'
  /** 'pass': valid and every objective held; 'fail': the target missed; 'client-limited': the generator did. */
  outcome: 'pass' | 'fail' | 'client-limited'
  why: string
  completedRps: number
  p50Us: number
  p99Us: number
  errorRate: number
  droppedShare: number
  validity: TrialResult['validity']
  slo: SloResult[]
}

export interface CapacityResult {
  scenario: string
  /** Highest rate that passed every trial at it; 0 when even the start failed. */
  capacityRps: number
  /** [capacity, lowest failing rate]; high is null when nothing failed (generator or --max-rate was the limit). */
  interval: { lowRps: number; highRps: number | null }
  /** The lowest offered rate at which the target stopped keeping up (completed < 95% of offered, or saturated), null if never seen. */
  kneeRps: number | null
  /** True when the generator, not the target, ended the search: capacity is a lower bound. */
  generatorLimited: boolean
  /** True when --max-rate passed: capacity is a lower bound too. */
  maxRateReached: boolean
  steps: CapacityStep[]
  /** What the rates count: requests, or a journey's iterations (absent in files written before journeys). */
  unit?: 'req/s' | 'iterations/s'
}

export type MeasureStep = (rateRps: number) => Promise<{ trial: TrialResult; summary: ScenarioSummary }>

/** How one measured trial counts for the search. */
export function judgeStep(rateRps: number, phase: CapacityStep['phase'], trial: TrialResult, summary: ScenarioSummary, slos: readonly Slo[]): CapacityStep {
  const open = trial.openModel
  const droppedShare = open !== undefined && open.scheduled > 0 ? open.dropped / open.scheduled : 0
  // SLOs are judged on the trial's own figures even when invalid, so the step says why it failed.
  const slo = checkSlos(slos, { ...summary, validTrials: Math.max(1, summary.validTrials) })
  const base = {
    rateRps,
    phase,
    completedRps: open?.completedRps ?? trial.throughputRps,
    p50Us: trial.latencyUs.p50,
    p99Us: trial.latencyUs.p99,
    errorRate: trial.errorRate,
    droppedShare,
    validity: trial.validity,
    slo
  }
  if (trial.validity.state === 'invalid') {
    if (trial.validity.code === 'CLIENT_LIMITED') return { ...base, outcome: 'client-limited', why: trial.validity.reason }
    return { ...base, outcome: 'fail', why: `${trial.validity.code}: ${trial.validity.reason}` }
  }
  const failed = slo.filter((r) => !r.passed)
  if (failed.length > 0) return { ...base, outcome: 'fail', why: `objective missed: ${failed.map((r) => r.expression).join(', ')}` }
  return { ...base, outcome: 'pass', why: 'valid, every objective held' }
}

/** The search's state as it goes: every step, the highest pass and the lowest fail so far. */
class CapacitySearch {
  readonly steps: CapacityStep[] = []
  pass = 0
  fail: number | null = null
  generatorLimited = false
  clientCeiling: number | null = null
  journey = false

  constructor(
    private readonly settings: CapacitySettings,
    private readonly measure: MeasureStep,
    private readonly onStep: (step: CapacityStep) => void
  ) {}

  async #once(rate: number, phase: CapacityStep['phase']): Promise<CapacityStep> {
    const { trial, summary } = await this.measure(rate)
    if (trial.journey !== undefined) this.journey = true
    const step = judgeStep(rate, phase, trial, summary, this.settings.slos)
    this.steps.push(step)
    this.onStep(step)
    return step
  }

  // A generator-limited step ends the search upwards, so it is believed only when it happens
  // twice in a row at that rate: on a shared machine one descheduled second looks the same.
  async run(rateRps: number, phase: CapacityStep['phase']): Promise<CapacityStep> {
    const rate = Math.max(1, Math.round(rateRps))
    const step = await this.#once(rate, phase)
    return step.outcome === 'client-limited' ? this.#once(rate, phase) : step
  }

  trialsAt(rate: number): CapacityStep[] {
    return this.steps.filter((s) => s.rateRps === rate)
  }

  /** Coarse: double until a step fails or the generator gives out. */
  async coarse(): Promise<void> {
    for (let rate = Math.min(this.settings.startRps, this.settings.maxRps); ; rate = Math.min(rate * 2, this.settings.maxRps)) {
      const s = await this.run(rate, 'coarse')
      if (s.outcome === 'pass') this.pass = s.rateRps
      else if (s.outcome === 'client-limited') {
        this.generatorLimited = true
        this.clientCeiling = s.rateRps
        return
      } else {
        this.fail = s.rateRps
        return
      }
      if (rate >= this.settings.maxRps) return
    }
  }

  /** Bisection between the last pass and the first fail (or the rate the generator could not keep). */
  async bisect(): Promise<void> {
    const upper = (): number | null => this.fail ?? this.clientCeiling
    while (upper() !== null && this.pass > 0 && ((upper() as number) - this.pass) / this.pass > this.settings.precision) {
      const s = await this.run((this.pass + (upper() as number)) / 2, 'bisect')
      if (s.outcome === 'pass') this.pass = s.rateRps
      else if (s.outcome === 'client-limited') this.clientCeiling = s.rateRps
      else this.fail = s.rateRps
    }
    // With nothing passing at the start, halve downwards a few times so the report says where it stands.
    if (this.pass !== 0 || this.fail === null) return
    for (let rate = this.settings.startRps / 2, i = 0; i < 4 && this.pass === 0; rate /= 2, i++) {
      const s = await this.run(rate, 'bisect')
      if (s.outcome === 'pass') this.pass = s.rateRps
      else if (s.outcome === 'fail') this.fail = s.rateRps
    }
  }

  /**
   * Repeats near the knee: the pass must hold `repeats` times in all; a miss moves the interval
   * down to the next rate that passed (or a step below, measured afresh) and tries again.
   */
  async repeatKnee(): Promise<void> {
    for (let round = 0; round < 4 && this.pass > 0; round++) {
      let held = this.trialsAt(this.pass).every((s) => s.outcome === 'pass')
      while (held && this.trialsAt(this.pass).length < this.settings.repeats) {
        const s = await this.run(this.pass, 'repeat')
        if (s.outcome !== 'pass') held = false
      }
      if (held) break
      if (this.trialsAt(this.pass).some((s) => s.outcome === 'fail')) this.fail = this.pass
      const below = this.steps.filter((s) => s.rateRps < this.pass && this.trialsAt(s.rateRps).every((t) => t.outcome === 'pass')).map((s) => s.rateRps)
      this.pass = below.length > 0 ? Math.max(...below) : Math.round(this.pass * (1 - this.settings.precision * 2))
    }
    if (this.pass > 0 && (this.trialsAt(this.pass).length === 0 || !this.trialsAt(this.pass).every((s) => s.outcome === 'pass'))) this.pass = 0
    if (this.fail !== null) {
      while (this.trialsAt(this.fail).length < this.settings.repeats) await this.run(this.fail, 'repeat')
    }
  }

  result(scenario: string): CapacityResult {
    const knee = this.steps
      .filter((s) => s.outcome !== 'client-limited' && (s.completedRps < s.rateRps * 0.95 || (s.validity.state === 'invalid' && s.validity.code === 'SERVER_SATURATED')))
      .map((s) => s.rateRps)
    const { pass, fail, generatorLimited, clientCeiling } = this
    return {
      scenario,
      capacityRps: pass,
      interval: { lowRps: pass, highRps: fail },
      kneeRps: knee.length === 0 ? null : Math.min(...knee),
      generatorLimited: generatorLimited || (clientCeiling !== null && fail === null),
      maxRateReached: fail === null && !generatorLimited && clientCeiling === null && pass >= this.settings.maxRps,
      steps: this.steps,
      unit: this.journey ? 'iterations/s' : 'req/s'
    }
  }
}

/** Coarse steps up, bisection to the precision, then repeats at both ends of the final interval. */
export async function searchCapacity(
  scenario: string,
  settings: CapacitySettings,
  measure: MeasureStep,
  onStep: (step: CapacityStep) => void = () => undefined
): Promise<CapacityResult> {
  const search = new CapacitySearch(settings, measure, onStep)
  await search.coarse()
  await search.bisect()
  await search.repeatKnee()
  return search.result(scenario)
}
