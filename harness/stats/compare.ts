// Compares two runs (a stored baseline and a current run, unpaired) or the two arms of one
// interleaved A/B run (paired), metric by metric, with bootstrap intervals and rank tests.
// Pure: the same inputs and settings give the same Judgement, bit for bit. Its one-line headline
// is text for people, written by harness/reporters/headline.ts.
//
// The unit of analysis is the trial (the pair, for A/B). Point estimates are medians of per-trial
// values, except percentiles, which come from the merged histogram of a side's valid trials.
// Percentile intervals resample *trials* and merge their histograms in each resample, so the
// interval describes the same statistic as the point estimate (never an average of percentiles).
import { profileNoteForArms, profileNoteForRuns } from './profile-notes.ts'
import { seriesPartOf, withStepSeries } from './steps.ts'
import { decodeHistogram, mergeEncoded } from './recorder.ts'
import { bootstrapOneSample, bootstrapTwoSample, changeOf, mannWhitneyU, median, medianStatistic, wilcoxonSignedRank } from './stats.ts'
import type { BootstrapInterval, ChangeKind, RankTestResult, WeightedStatistic } from './stats.ts'
import { CompareError } from '../errors.ts'
import { mannWhitneyMinP, sensitivityOf, signedRankMinP } from './sensitivity.ts'
import { CALIBRATION_MAX_SPREAD, METRIC_INFO, METRICS, combineVerdicts, decideVerdict, exitCodeFor, resolveCompareSettings } from './verdict.ts'
import type {
  CompareSettings,
  Comparison,
  EnvironmentDifference,
  Judgement,
  MetricComparison,
  MetricName,
  RunIdentity,
  RunResult,
  ScenarioComparison,
  TrialResult,
  Verdict
} from '../types.ts'

export interface CompareOptions {
  settings?: CompareSettings
  /** Where the runs were read from; recorded in the comparison. */
  baselinePath?: string | null
  currentPath?: string | null
  /**
   * compareAB only: settings for single scenarios, over `settings` (a sequential gate judges each
   * scenario at the level of its own last look).
   */
  scenarioSettings?: Readonly<Record<string, CompareSettings>>
}

// ---------------------------------------------------------------------------------------------
// Histograms as a matrix of trials × buckets, so a resample merges in O(trials · log buckets)

interface BucketAccess {
  countsArrayLength: number
  getCountAtIndex(index: number): number
  valueFromIndex(index: number): number
  highestEquivalentValue(value: number): number
  destroy(): void
}

interface HistogramMatrix {
  /** Ascending distinct bucket values (each bucket's highest equivalent value, as HDR reports). */
  values: number[]
  /** Per trial: cumulative counts up to and including each bucket. */
  cumulative: Float64Array[]
  totals: number[]
}

function buildHistogramMatrix(encoded: readonly string[], where: string): HistogramMatrix {
  const perTrial: Array<Map<number, number>> = []
  const allValues = new Set<number>()
  for (const [index, text] of encoded.entries()) {
    let histogram: BucketAccess
    try {
      // The JS implementation (which decodeHistogram builds) exposes its buckets; the public
      // Histogram interface does not.
      histogram = decodeHistogram(text) as unknown as BucketAccess
    } catch (error) {
      throw new CompareError('AUTHBENCH_ERR_RESULT_SHAPE', `${where}: trial ${index}'s histogram could not be decoded`, { cause: error })
    }
    const buckets = new Map<number, number>()
    for (let i = 0; i < histogram.countsArrayLength; i++) {
      const count = histogram.getCountAtIndex(i)
      if (count === 0) continue
      const value = histogram.highestEquivalentValue(histogram.valueFromIndex(i))
      buckets.set(value, (buckets.get(value) ?? 0) + count)
      allValues.add(value)
    }
    histogram.destroy()
    perTrial.push(buckets)
  }
  const values = [...allValues].sort((a, b) => a - b)
  const cumulative = perTrial.map((buckets) => {
    const row = new Float64Array(values.length)
    let running = 0
    values.forEach((value, j) => {
      running += buckets.get(value) ?? 0
      row[j] = running
    })
    return row
  })
  return { values, cumulative, totals: cumulative.map((row) => (row.length === 0 ? 0 : (row[row.length - 1] as number))) }
}

/** The percentile of the histogram merged from trials drawn `weights` times, HDR's rule exactly. */
function percentileStatistic(matrix: HistogramMatrix, percentile: number): WeightedStatistic {
  return (weights) => {
    let total = 0
    weights.forEach((weight, t) => (total += weight * (matrix.totals[t] as number)))
    if (total === 0) return Number.NaN
    const wanted = (percentile / 100) * total
    const countAtPercentile = Math.max(Math.ceil(wanted - wanted * 1e-12), 1)
    let low = 0
    let high = matrix.values.length - 1
    while (low < high) {
      const middle = (low + high) >> 1
      let cumulative = 0
      weights.forEach((weight, t) => {
        if (weight !== 0) cumulative += weight * ((matrix.cumulative[t] as Float64Array)[middle] as number)
      })
      if (cumulative >= countAtPercentile) high = middle
      else low = middle + 1
    }
    return matrix.values[low] as number
  }
}

const PERCENTILE_OF: Partial<Record<MetricName, number>> = { p50Us: 50, p95Us: 95, p99Us: 99 }

function unitWeights(size: number, index: number): number[] {
  const weights = new Array<number>(size).fill(0)
  weights[index] = 1
  return weights
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** A small stable hash, so each scenario × metric gets its own reproducible bootstrap stream. */
function seedFor(base: number, key: string): number {
  let hash = base | 0
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return hash | 0
}

/**
 * Which run a comparison names. An arm of an A/B result is named by its own commit: the
 * fingerprint's is the checkout's, which a git-ref arm is not. Older A/B files recorded the arms
 * only in environment.targetConfig.arms.
 */
function identityOf(result: RunResult, path: string | null | undefined, arm?: 'A' | 'B'): RunIdentity {
  const recorded = arm === undefined ? undefined : (result.arms?.[arm] ?? legacyArm(result, arm))
  const gitCommit = typeof recorded?.commit === 'string' ? recorded.commit : result.environment.gitCommit
  return { label: arm === undefined ? result.label : `${result.label} (${arm})`, createdAt: result.createdAt, gitCommit, path: path ?? null }
}

function legacyArm(result: RunResult, arm: 'A' | 'B'): { commit?: unknown } | undefined {
  const arms = result.environment.targetConfig?.arms
  if (typeof arms !== 'object' || arms === null) return undefined
  const entry = (arms as Record<string, unknown>)[arm]
  return typeof entry === 'object' && entry !== null ? (entry as { commit?: unknown }) : undefined
}

function metricShell(metric: MetricName, settings: CompareSettings): Omit<MetricComparison, 'baseline' | 'current' | 'change' | 'interval' | 'pValue' | 'verdict'> {
  const info = METRIC_INFO[metric]
  return {
    metric,
    better: info.better,
    changeKind: info.changeKind,
    margin: settings.margins[metric],
    ...(settings.improvementMargins?.[metric] !== undefined && settings.improvementMargins[metric] !== settings.margins[metric]
      ? { improvementMargin: settings.improvementMargins[metric] }
      : {}),
    gated: settings.gatedMetrics.includes(metric),
    normalised: false
  }
}

function judged(
  shell: ReturnType<typeof metricShell>,
  baseline: number | null,
  current: number | null,
  interval: BootstrapInterval,
  rankTest: RankTestResult,
  settings: CompareSettings,
  normalised: boolean,
  /** The smallest p the rank test can give with these trials (its exact distribution). */
  attainablePValue: number
): MetricComparison {
  const finite = Number.isFinite(interval.low) && Number.isFinite(interval.high) && Number.isFinite(interval.estimate)
  const decision = decideVerdict({
    interval: finite ? { low: interval.low, high: interval.high } : null,
    margin: shell.margin,
    ...(shell.improvementMargin !== undefined ? { improvementMargin: shell.improvementMargin } : {}),
    better: shell.better,
    pValue: rankTest.pValue,
    alpha: 1 - settings.confidence,
    requireSignificance: settings.requireSignificance,
    attainablePValue
  })
  const metric: MetricComparison = {
    ...shell,
    normalised,
    baseline,
    current,
    change: Number.isFinite(interval.estimate) ? interval.estimate : null,
    interval: finite ? { low: interval.low, high: interval.high, confidence: interval.confidence, method: interval.method, resamples: interval.resamples } : null,
    pValue: Number.isFinite(rankTest.pValue) ? rankTest.pValue : null,
    verdict: decision.verdict
  }
  if (decision.note !== undefined) metric.note = decision.note
  metric.sensitivity = sensitivityOf({
    changeKind: shell.changeKind,
    better: shell.better,
    margin: shell.margin,
    estimate: metric.change,
    interval: metric.interval,
    attainablePValue: settings.requireSignificance ? attainablePValue : null,
    alpha: 1 - settings.confidence
  })
  return metric
}

function invalidMetric(metric: MetricName, settings: CompareSettings, note: string, baseline: number | null = null, current: number | null = null): MetricComparison {
  return { ...metricShell(metric, settings), baseline, current, change: null, interval: null, pValue: null, verdict: 'invalid', note }
}

function scenarioVerdict(metrics: readonly MetricComparison[]): Verdict {
  const gated = metrics.filter((metric) => metric.gated).map((metric) => metric.verdict)
  return gated.length === 0 ? 'no-change' : combineVerdicts(gated)
}

/** Each trial's check-failure rate, or null unless every trial ran a journey (no checks to compare otherwise). */
function checkValues(trials: readonly TrialResult[]): number[] | null {
  const values = trials.map((trial) => trial.journey?.checks.failureRate ?? null)
  return values.length > 0 && values.every((value): value is number => value !== null) ? values : null
}

function cpuValues(trials: readonly TrialResult[]): number[] | null {
  const values = trials.map((trial) => trial.server?.cpuUsPerRequest ?? null)
  return values.every((value): value is number => value !== null && Number.isFinite(value)) ? values : null
}

function safeMerge(histograms: readonly string[]): string | null {
  if (histograms.length === 0) return null
  try {
    return mergeEncoded(histograms)
  } catch {
    return null
  }
}

/** Load settings whose difference makes a scenario's figures incomparable (duration does not). */
function loadDifferences(baseline: RunResult, current: RunResult, scenario: string): string[] {
  const a = baseline.load[scenario]
  const b = current.load[scenario]
  if (a === undefined || b === undefined) return []
  const keys = ['model', 'connections', 'pipelining', 'rateRps'] as const
  return keys.filter((key) => a[key] !== b[key]).map((key) => `${key} ${String(a[key])} → ${String(b[key])}`)
}

const MACHINE_FIELDS = ['cpuModel', 'cpuCount', 'nodeVersion'] as const
const INFO_FIELDS = ['platform', 'arch', 'osRelease', 'hostname', 'totalMemBytes', 'driver', 'variant', 'gitCommit', 'gitDirty'] as const

function environmentDifferences(baseline: RunResult, current: RunResult): EnvironmentDifference[] {
  const differences: EnvironmentDifference[] = []
  for (const field of [...MACHINE_FIELDS, ...INFO_FIELDS]) {
    const a = String(baseline.environment[field])
    const b = String(current.environment[field])
    if (a !== b) differences.push({ field, baseline: a, current: b, machine: (MACHINE_FIELDS as readonly string[]).includes(field) })
  }
  // Each declared target option is a field of its own (`option store`), named as the target names it.
  const optionsA = baseline.environment.targetOptions
  const optionsB = current.environment.targetOptions
  for (const name of [...new Set([...Object.keys(optionsA), ...Object.keys(optionsB)])].sort()) {
    const a = optionsA[name] ?? 'unset'
    const b = optionsB[name] ?? 'unset'
    if (a !== b) differences.push({ field: `option ${name}`, baseline: a, current: b, machine: false })
  }
  return differences
}

function finish(
  mode: 'baseline' | 'ab',
  baseline: RunIdentity,
  current: RunIdentity,
  environment: Comparison['environment'],
  settings: CompareSettings,
  scenarios: ScenarioComparison[],
  notes: string[]
): Judgement {
  const verdict = scenarios.length === 0 ? 'invalid' : combineVerdicts(scenarios.map((scenario) => scenario.verdict))
  return {
    mode,
    verdict,
    exitCode: exitCodeFor(verdict),
    baseline,
    current,
    environment,
    method:
      mode === 'ab'
        ? { unitOfAnalysis: 'pair', percentileInterval: 'paired-per-trial-percentiles', rankTest: 'wilcoxon-signed-rank' }
        : { unitOfAnalysis: 'trial', percentileInterval: 'bootstrap-trials-merge-histograms', rankTest: 'mann-whitney-u' },
    settings,
    scenarios,
    notes
  }
}

// ---------------------------------------------------------------------------------------------
// Unpaired: a stored baseline against a current run

interface Side {
  valid: TrialResult[]
  invalid: number
}

function sideOf(result: RunResult, scenario: string): Side {
  const trials = result.trials.filter((trial) => trial.scenario === scenario)
  const valid = trials.filter((trial) => trial.validity.state === 'valid')
  return { valid, invalid: trials.length - valid.length }
}

/**
 * The yardstick checked before it is trusted: each side's calibration slices must have been
 * steady, and when both runs measured the health scenario (the same `GET /` the calibration
 * drives), its throughput must have moved between the machines as the calibration did. A
 * disagreement is stated, with how far off the normalised figures may be.
 */
export function checkCalibration(baseline: RunResult, current: RunResult): string[] {
  const out: string[] = []
  for (const [side, r] of [
    ['baseline', baseline],
    ['current', current]
  ] as const) {
    const spread = r.calibration?.spread
    if (spread !== undefined && spread > CALIBRATION_MAX_SPREAD)
      out.push(`the ${side} calibration was unsteady (slices ±${(spread * 50).toFixed(0)}%): normalised throughput is unreliable`)
  }
  const healthRps = (r: RunResult): number | null => {
    const values = r.trials.filter((t) => t.scenario === 'health' && t.validity.state === 'valid').map((t) => t.throughputRps)
    return values.length > 0 ? median(values) : null
  }
  const hb = healthRps(baseline)
  const hc = healthRps(current)
  const cb = baseline.calibration?.throughputRps
  const cc = current.calibration?.throughputRps
  if (hb !== null && hc !== null && hb > 0 && cb !== undefined && cc !== undefined && cb > 0 && cc > 0) {
    const offBy = hc / hb / (cc / cb) - 1
    if (Math.abs(offBy) > CALIBRATION_MAX_SPREAD) {
      out.push(
        `the calibration moved ×${(cc / cb).toFixed(2)} between the machines but the health scenario ×${(hc / hb).toFixed(2)}: normalised throughput may be off by ${offBy > 0 ? '+' : '−'}${Math.abs(offBy * 100).toFixed(0)}%`
      )
    }
  }
  return out
}

/**
 * Compares a current run with a baseline run. When the machines differ (CPU model, CPU count or
 * Node version, or calibrations more than MACHINE_SPEED_TOLERANCE apart), throughput and CPU µs/request are divided by each run's calibration workload
 * before comparing, and the comparison says so; latencies are compared raw, with a note.
 */
export function judgeResults(baselineRun: RunResult, currentRun: RunResult, options: CompareOptions = {}): Judgement {
  // A journey's steps and iterations are compared as scenarios of their own, so a verdict names the step.
  const baseline = withStepSeries(baselineRun)
  const current = withStepSeries(currentRun)
  const machines = compareMachines(baseline, current)
  const settings = machines.sameMachine
    ? (options.settings ?? resolveCompareSettings({}))
    : crossMachineSettings(options.settings ?? resolveCompareSettings({}), machines.acrossCpuModels)
  const notes = [...machines.notes]
  if (!machines.sameMachine) notes.push(crossMachineNote(machines.acrossCpuModels))
  const driverDiffers = baseline.environment.driver !== current.environment.driver
  if (driverDiffers) notes.push(`different load drivers (${baseline.environment.driver} → ${current.environment.driver}): the runs measure different things`)
  const common = commonScenarios(baseline, current, notes)
  if (baseline.aborted) notes.push(`the baseline run stopped early: ${baseline.aborted.reason}`)
  if (current.aborted) notes.push(`the current run stopped early: ${current.aborted.reason}`)
  const profiled = profileNoteForRuns(baseline, current)
  if (profiled !== null) notes.push(profiled)

  const context: UnpairedContext = { baseline, current, settings, machines, driverDiffers }
  const scenarios = common.map((scenario) => compareScenarioUnpaired(context, scenario))
  return finish(
    'baseline',
    identityOf(baseline, options.baselinePath),
    identityOf(current, options.currentPath),
    { sameMachine: machines.sameMachine, differences: machines.differences, normalisation: machines.normalisation },
    settings,
    scenarios,
    notes
  )
}

/**
 * Across two machines only gross changes are judged. One calibration workload cannot stand for
 * every workload: between an AMD EPYC and an Intel Xeon VM measured here, the same scenarios'
 * throughput moved ×1.21 (revoke) to ×1.88 (ott) while the calibration moved ×1.63, so normalised
 * figures strayed up to 26% from "no change" (docs/commands.md, "Comparing runs"), and no single yardstick
 * could have kept all of them within 24%. On one CPU model (another host of the same type, another
 * Node, another core count) normalised throughput and CPU µs/req are judged at ±30% at least, and
 * latencies, which are compared raw, are reported but not gated.
 */
export const CROSS_MACHINE_MARGIN = 0.3

/**
 * Across CPU models the spread is wider still. Three `npm run bench` runs on an AMD EPYC VM
 * against the committed baseline from an Intel Xeon VM (same code, 2026-12-03): relative to the
 * calibration, ott cost ×0.55–0.66 as much CPU per request and health ×1.13–1.23; normalised
 * throughput ranged ×0.75 (health) to ×1.69 (ott). Compared the other way round at ±30%, two of
 * the three were a regression (ott CPU µs/req +82% [+70%, +90%]). So across CPU models a change is
 * judged as a factor, the same both ways: a regression needs throughput below ×1/2 (−50%) or CPU
 * µs/req above ×2 (+100%), an improvement the mirror (+100%, −50%).
 */
export const CROSS_CPU_FACTOR = 2
const LATENCY_METRICS: readonly MetricName[] = ['p50Us', 'p95Us', 'p99Us']

function crossMachineNote(acrossCpuModels: boolean): string {
  const how = acrossCpuModels
    ? `normalised throughput and CPU µs/req only past ×${CROSS_CPU_FACTOR} or ×1/${CROSS_CPU_FACTOR} across CPU models`
    : `normalised throughput and CPU µs/req at ±${CROSS_MACHINE_MARGIN * 100}% at least`
  return `different machines: only gross changes are judged (${how}; latencies reported, not gated), since one calibration workload does not stand for every workload on another ${acrossCpuModels ? 'CPU' : 'machine'}`
}

export function crossMachineSettings(settings: CompareSettings, acrossCpuModels = false): CompareSettings {
  const gatedMetrics = settings.gatedMetrics.filter((metric) => !LATENCY_METRICS.includes(metric))
  if (!acrossCpuModels) {
    return {
      ...settings,
      margins: {
        ...settings.margins,
        throughputRps: Math.max(settings.margins.throughputRps, CROSS_MACHINE_MARGIN),
        cpuUsPerRequest: Math.max(settings.margins.cpuUsPerRequest, CROSS_MACHINE_MARGIN)
      },
      gatedMetrics
    }
  }
  // A factor f as relative margins: falling to 1/f is −(1 − 1/f), rising to f is +(f − 1).
  const fall = 1 - 1 / CROSS_CPU_FACTOR
  const rise = CROSS_CPU_FACTOR - 1
  return {
    ...settings,
    margins: { ...settings.margins, throughputRps: Math.max(settings.margins.throughputRps, fall), cpuUsPerRequest: Math.max(settings.margins.cpuUsPerRequest, rise) },
    improvementMargins: {
      ...settings.improvementMargins,
      throughputRps: Math.max(settings.margins.throughputRps, rise),
      cpuUsPerRequest: Math.max(settings.margins.cpuUsPerRequest, fall)
    },
    gatedMetrics
  }
}

/** What the machines of two runs allow: raw figures, figures normalised by calibration, or neither. */
interface MachineComparison {
  differences: EnvironmentDifference[]
  sameMachine: boolean
  /** The CPU model strings differ, so costs differ per workload (CROSS_CPU_FACTOR). */
  acrossCpuModels: boolean
  normalisation: Comparison['environment']['normalisation']
  /** Set when throughput cannot be compared across the machines at all. */
  crossMachineProblem: string | null
  canNormaliseCpu: boolean
  notes: string[]
}

/**
 * Two runs whose calibrations differ by more than this (the faster over the slower) did not run at
 * one machine speed, whatever their fingerprints say, and are judged as from different machines.
 * On a cloud VM the CPU model string ("Intel(R) Xeon(R) Processor") names neither the host nor its
 * speed: the same code on two such VMs a day apart read calibrations of 64,881 and 38,352 req/s,
 * and compared raw at the baseline's 5% margins it was called a regression in 16 cells. A steady
 * calibration agrees with itself within CALIBRATION_MAX_SPREAD, so a larger move is the machine.
 */
export const MACHINE_SPEED_TOLERANCE = CALIBRATION_MAX_SPREAD

/** The calibration difference that makes two runs of one fingerprint different machines, or null. */
function speedDifference(baseline: RunResult, current: RunResult): EnvironmentDifference | null {
  const cb = baseline.calibration?.throughputRps
  const cc = current.calibration?.throughputRps
  if (cb === undefined || cc === undefined || !(cb > 0) || !(cc > 0)) return null
  if (Math.max(cb, cc) / Math.min(cb, cc) - 1 <= MACHINE_SPEED_TOLERANCE) return null
  return { field: 'calibrationRps', baseline: String(Math.round(cb)), current: String(Math.round(cc)), machine: true }
}

function compareMachines(baseline: RunResult, current: RunResult): MachineComparison {
  const differences = environmentDifferences(baseline, current)
  const speed = differences.some((difference) => difference.machine) ? null : speedDifference(baseline, current)
  if (speed !== null) differences.unshift(speed)
  const sameMachine = !differences.some((difference) => difference.machine)
  const canNormaliseCpu =
    baseline.calibration?.cpuUsPerRequest != null &&
    current.calibration?.cpuUsPerRequest != null &&
    baseline.calibration.cpuUsPerRequest > 0 &&
    current.calibration.cpuUsPerRequest > 0
  const acrossCpuModels = differences.some((difference) => difference.field === 'cpuModel')
  const out: MachineComparison = { differences, sameMachine, acrossCpuModels, normalisation: null, crossMachineProblem: null, canNormaliseCpu, notes: [] }
  if (sameMachine) return out
  const machine = differences.filter((difference) => difference.machine).map((difference) => `${difference.field} ${difference.baseline} → ${difference.current}`)
  out.notes.push(`different machines (${machine.join('; ')}): latencies are compared raw and are only indicative`)
  if (speed !== null) {
    out.notes.push(
      `the fingerprints match, but the calibration moved ×${(Number(speed.current) / Number(speed.baseline)).toFixed(2)} between the runs (more than ±${MACHINE_SPEED_TOLERANCE * 100}%): another host or a slower spell of this one, so the runs are judged as from different machines`
    )
  }
  const baselineRps = baseline.calibration?.throughputRps ?? null
  const currentRps = current.calibration?.throughputRps ?? null
  if (baselineRps !== null && currentRps !== null && baselineRps > 0 && currentRps > 0) {
    out.normalisation = {
      metrics: canNormaliseCpu ? ['throughputRps', 'cpuUsPerRequest'] : ['throughputRps'],
      baselineCalibrationRps: baselineRps,
      currentCalibrationRps: currentRps,
      baselineCalibrationCpuUsPerRequest: canNormaliseCpu ? (baseline.calibration?.cpuUsPerRequest ?? null) : null,
      currentCalibrationCpuUsPerRequest: canNormaliseCpu ? (current.calibration?.cpuUsPerRequest ?? null) : null
    }
    out.notes.push(
      `throughput${canNormaliseCpu ? ' and CPU µs/req' : ''} normalised by each run's calibration workload (${Math.round(baselineRps)} → ${Math.round(currentRps)} req/s)`
    )
    out.notes.push(...checkCalibration(baseline, current))
  } else {
    out.crossMachineProblem = 'different machines and no calibration workload on both sides: throughput cannot be normalised'
    out.notes.push(out.crossMachineProblem)
  }
  return out
}

/** The scenarios both runs measured, in the current run's order; the others are named in `notes`. */
function commonScenarios(baseline: RunResult, current: RunResult, notes: string[]): string[] {
  const baselineScenarios = new Set(baseline.trials.map((trial) => trial.scenario))
  const currentScenarios = new Set(current.trials.map((trial) => trial.scenario))
  const common = [...currentScenarios].filter((scenario) => baselineScenarios.has(scenario))
  const onlyBaseline = [...baselineScenarios].filter((scenario) => !currentScenarios.has(scenario))
  const onlyCurrent = [...currentScenarios].filter((scenario) => !baselineScenarios.has(scenario))
  if (onlyBaseline.length > 0) notes.push(`not in the current run: ${onlyBaseline.join(', ')}`)
  if (onlyCurrent.length > 0) notes.push(`not in the baseline: ${onlyCurrent.join(', ')}`)
  if (common.length === 0) notes.unshift('no scenario in common between the two runs')
  return common
}

interface UnpairedContext {
  baseline: RunResult
  current: RunResult
  settings: CompareSettings
  machines: MachineComparison
  driverDiffers: boolean
}

/** Why a scenario's two sides cannot be compared at all, or null when they can. */
function unpairedInvalidReason(context: UnpairedContext, scenario: string, a: Side, b: Side): string | null {
  const { settings } = context
  const loadProblems = loadDifferences(context.baseline, context.current, scenario)
  if (context.driverDiffers) return 'different load drivers'
  if (loadProblems.length > 0) return `load settings differ (${loadProblems.join(', ')})`
  if (a.invalid > settings.maxInvalidTrials || b.invalid > settings.maxInvalidTrials) {
    return `invalid trials (baseline ${a.invalid}, current ${b.invalid}; at most ${settings.maxInvalidTrials} allowed)`
  }
  if (a.valid.length < settings.minTrials || b.valid.length < settings.minTrials) {
    return `too few valid trials (baseline ${a.valid.length}, current ${b.valid.length}; at least ${settings.minTrials} needed)`
  }
  return null
}

function compareScenarioUnpaired(context: UnpairedContext, scenario: string): ScenarioComparison {
  const a = sideOf(context.baseline, scenario)
  const b = sideOf(context.current, scenario)
  const scenarioNotes: string[] = []
  const invalidReason = unpairedInvalidReason(context, scenario, a, b)
  if (invalidReason === null && (a.invalid > 0 || b.invalid > 0)) scenarioNotes.push(`${a.invalid + b.invalid} invalid trial(s) left out`)
  const metrics = METRICS.flatMap((metric): MetricComparison[] => {
    const percentile = PERCENTILE_OF[metric]
    if (percentile !== undefined) {
      return [invalidReason !== null ? invalidMetric(metric, context.settings, invalidReason) : comparePercentileUnpaired(context.settings, scenario, metric, percentile, a, b)]
    }
    return compareValuesUnpaired(context, scenario, metric, a, b, invalidReason, scenarioNotes)
  })
  if (invalidReason !== null) scenarioNotes.unshift(invalidReason)
  const part = seriesPartOf(a.valid[0] ?? b.valid[0] ?? context.current.trials.find((t) => t.scenario === scenario))
  return {
    scenario,
    ...(part === undefined ? {} : { part }),
    baselineTrials: a.valid.length,
    currentTrials: b.valid.length,
    invalidTrials: { baseline: a.invalid, current: b.invalid },
    verdict: scenarioVerdict(metrics),
    metrics,
    baselineHistogram: safeMerge(a.valid.map((trial) => trial.histogram)),
    currentHistogram: safeMerge(b.valid.map((trial) => trial.histogram)),
    notes: [...new Set(scenarioNotes)]
  }
}

function bootstrapSettings(
  settings: CompareSettings,
  scenario: string,
  metric: MetricName
): { resamples: number; confidence: number; seed: number; method: CompareSettings['intervalMethod'] } {
  return { resamples: settings.resamples, confidence: settings.confidence, seed: seedFor(settings.seed, `${scenario}/${metric}`), method: settings.intervalMethod }
}

/** A percentile: trials resampled and their histograms merged per resample; Mann-Whitney on per-trial percentiles. */
function comparePercentileUnpaired(settings: CompareSettings, scenario: string, metric: MetricName, percentile: number, a: Side, b: Side): MetricComparison {
  const statA = percentileStatistic(
    buildHistogramMatrix(
      a.valid.map((trial) => trial.histogram),
      `baseline ${scenario}`
    ),
    percentile
  )
  const statB = percentileStatistic(
    buildHistogramMatrix(
      b.valid.map((trial) => trial.histogram),
      `current ${scenario}`
    ),
    percentile
  )
  const interval = bootstrapTwoSample(a.valid.length, b.valid.length, statA, statB, changeOf(METRIC_INFO[metric].changeKind), bootstrapSettings(settings, scenario, metric))
  const perTrialA = a.valid.map((_, i) => statA(unitWeights(a.valid.length, i)))
  const perTrialB = b.valid.map((_, i) => statB(unitWeights(b.valid.length, i)))
  const pointA = statA(new Array<number>(a.valid.length).fill(1))
  const pointB = statB(new Array<number>(b.valid.length).fill(1))
  return judged(metricShell(metric, settings), pointA, pointB, interval, mannWhitneyU(perTrialA, perTrialB), settings, false, mannWhitneyMinP(a.valid.length, b.valid.length))
}

/**
 * Throughput, error rate or CPU µs/req: medians of per-trial values, normalised by calibration
 * across machines where that is possible; none when CPU was not measured on both sides.
 */
function compareValuesUnpaired(
  context: UnpairedContext,
  scenario: string,
  metric: MetricName,
  a: Side,
  b: Side,
  invalidReason: string | null,
  scenarioNotes: string[]
): MetricComparison[] {
  const { settings, machines } = context
  let valuesA: number[]
  let valuesB: number[]
  let normalised = false
  if (metric === 'throughputRps') {
    valuesA = a.valid.map((trial) => trial.throughputRps)
    valuesB = b.valid.map((trial) => trial.throughputRps)
    if (invalidReason === null && machines.crossMachineProblem !== null) return [invalidMetric(metric, settings, machines.crossMachineProblem, median(valuesA), median(valuesB))]
    if (machines.normalisation !== null) normalised = true
  } else if (metric === 'errorRate') {
    valuesA = a.valid.map((trial) => trial.errorRate)
    valuesB = b.valid.map((trial) => trial.errorRate)
  } else if (metric === 'checkFailureRate') {
    const checksA = checkValues(a.valid)
    const checksB = checkValues(b.valid)
    if (checksA === null || checksB === null) return []
    valuesA = checksA
    valuesB = checksB
  } else {
    const cpuA = cpuValues(a.valid)
    const cpuB = cpuValues(b.valid)
    if (cpuA === null || cpuB === null) {
      // A journey's step has no CPU figure of its own (the server's CPU is the whole trial's): nothing to say.
      if (seriesPartOf(a.valid[0]) === undefined) scenarioNotes.push('CPU µs/req not measured on both sides (external target?): not compared')
      return []
    }
    valuesA = cpuA
    valuesB = cpuB
    if (!machines.sameMachine) {
      if (!machines.canNormaliseCpu) {
        if (invalidReason === null) return [invalidMetric(metric, settings, 'different machines and no CPU calibration on both sides', median(valuesA), median(valuesB))]
      } else normalised = true
    }
  }
  const rawA = valuesA.length > 0 ? median(valuesA) : null
  const rawB = valuesB.length > 0 ? median(valuesB) : null
  if (invalidReason !== null) return [invalidMetric(metric, settings, invalidReason, rawA, rawB)]
  if (normalised) {
    const normalisation = machines.normalisation
    const scaleA = metric === 'throughputRps' ? (normalisation?.baselineCalibrationRps as number) : (normalisation?.baselineCalibrationCpuUsPerRequest as number)
    const scaleB = metric === 'throughputRps' ? (normalisation?.currentCalibrationRps as number) : (normalisation?.currentCalibrationCpuUsPerRequest as number)
    valuesA = valuesA.map((value) => value / scaleA)
    valuesB = valuesB.map((value) => value / scaleB)
  }
  const interval = bootstrapTwoSample(
    valuesA.length,
    valuesB.length,
    medianStatistic(valuesA),
    medianStatistic(valuesB),
    changeOf(METRIC_INFO[metric].changeKind),
    bootstrapSettings(settings, scenario, metric)
  )
  return [judged(metricShell(metric, settings), rawA, rawB, interval, mannWhitneyU(valuesA, valuesB), settings, normalised, mannWhitneyMinP(valuesA.length, valuesB.length))]
}

// ---------------------------------------------------------------------------------------------
// Paired: the two arms of an interleaved A/B run

interface Pair {
  a: TrialResult
  b: TrialResult
}

function pairsOf(trials: readonly TrialResult[]): { pairs: Pair[]; invalidA: number; invalidB: number; incomplete: number; inferred: boolean } {
  const byPair = new Map<number, { a?: TrialResult; b?: TrialResult }>()
  const inferred = trials.some((trial) => trial.pair === undefined)
  const seen = { A: 0, B: 0 }
  for (const trial of trials) {
    if (trial.arm === undefined) continue
    // Without pair indices, the k-th A and the k-th B are taken as a pair (the order they ran in).
    const index = inferred ? seen[trial.arm]++ : (trial.pair as number)
    const entry = byPair.get(index) ?? {}
    if (trial.arm === 'A') entry.a = trial
    else entry.b = trial
    byPair.set(index, entry)
  }
  const pairs: Pair[] = []
  let invalidA = 0
  let invalidB = 0
  let incomplete = 0
  for (const index of [...byPair.keys()].sort((x, y) => x - y)) {
    const entry = byPair.get(index) as { a?: TrialResult; b?: TrialResult }
    if (entry.a === undefined || entry.b === undefined) {
      incomplete++
      continue
    }
    const aValid = entry.a.validity.state === 'valid'
    const bValid = entry.b.validity.state === 'valid'
    if (!aValid) invalidA++
    if (!bValid) invalidB++
    if (aValid && bValid) pairs.push({ a: entry.a, b: entry.b })
  }
  return { pairs, invalidA, invalidB, incomplete, inferred }
}

/**
 * Compares arm B with arm A of one interleaved A/B run: per pair, the ratio B/A (difference for
 * error rate); the change is the median over pairs with a bootstrap interval over pairs, and the
 * rank test is Wilcoxon signed-rank. Both arms ran on one machine, so nothing is normalised.
 */
export function judgeAB(run: RunResult, options: Omit<CompareOptions, 'baselinePath'> = {}): Judgement {
  const result = withStepSeries(run)
  const baseSettings = options.settings ?? resolveCompareSettings({}, 'settings', 'paired')
  const notes: string[] = []
  const withArms = result.trials.filter((trial) => trial.arm !== undefined)
  if (withArms.length === 0) throw new CompareError('AUTHBENCH_ERR_AB_UNPAIRED', `${options.currentPath ?? result.label}: no trial has an arm (A or B); is this an A/B result?`)
  if (result.aborted) notes.push(`the run stopped early: ${result.aborted.reason}`)
  const profiled = profileNoteForArms(result)
  if (profiled !== null) notes.push(profiled)
  const scenarioNames = [...new Set(withArms.map((trial) => trial.scenario))]
  const scenarios = scenarioNames.map((scenario) =>
    compareScenarioPaired(
      scenario,
      withArms.filter((trial) => trial.scenario === scenario),
      options.scenarioSettings?.[seriesPartOf(withArms.find((trial) => trial.scenario === scenario))?.scenario ?? scenario] ?? baseSettings
    )
  )
  return finish(
    'ab',
    identityOf(result, options.currentPath, 'A'),
    identityOf(result, options.currentPath, 'B'),
    { sameMachine: true, differences: [], normalisation: null },
    baseSettings,
    scenarios,
    notes
  )
}

function compareScenarioPaired(scenario: string, trials: readonly TrialResult[], settings: CompareSettings): ScenarioComparison {
  const { pairs, invalidA, invalidB, incomplete, inferred } = pairsOf(trials)
  const scenarioNotes: string[] = []
  if (inferred) scenarioNotes.push('trials carry no pair index: paired in the order they ran')
  if (incomplete > 0) scenarioNotes.push(`${incomplete} incomplete pair(s) left out`)
  let invalidReason: string | null = null
  if (invalidA > settings.maxInvalidTrials || invalidB > settings.maxInvalidTrials) {
    invalidReason = `invalid trials (A ${invalidA}, B ${invalidB}; at most ${settings.maxInvalidTrials} allowed)`
  } else if (pairs.length < settings.minTrials) {
    invalidReason = `too few complete valid pairs (${pairs.length}; at least ${settings.minTrials} needed)`
  }
  const trialsA = pairs.map((pair) => pair.a)
  const trialsB = pairs.map((pair) => pair.b)
  const metrics = METRICS.flatMap((metric) => comparePairedMetric(settings, scenario, metric, trialsA, trialsB, invalidReason, scenarioNotes))
  if (invalidReason !== null) scenarioNotes.unshift(invalidReason)
  const part = seriesPartOf(trials[0])
  return {
    scenario,
    ...(part === undefined ? {} : { part }),
    baselineTrials: pairs.length,
    currentTrials: pairs.length,
    pairs: pairs.length,
    invalidTrials: { baseline: invalidA, current: invalidB },
    verdict: scenarioVerdict(metrics),
    metrics,
    baselineHistogram: safeMerge(trialsA.map((trial) => trial.histogram)),
    currentHistogram: safeMerge(trialsB.map((trial) => trial.histogram)),
    notes: [...new Set(scenarioNotes)]
  }
}

/** Per-pair values of one metric (each trial's own percentile for latencies) and the arms' point figures. */
function pairedValues(
  scenario: string,
  metric: MetricName,
  trialsA: readonly TrialResult[],
  trialsB: readonly TrialResult[]
): { valuesA: number[]; valuesB: number[]; pointA: number | null; pointB: number | null } | null {
  const percentile = PERCENTILE_OF[metric]
  if (percentile !== undefined) {
    const statA = percentileStatistic(
      buildHistogramMatrix(
        trialsA.map((trial) => trial.histogram),
        `arm A ${scenario}`
      ),
      percentile
    )
    const statB = percentileStatistic(
      buildHistogramMatrix(
        trialsB.map((trial) => trial.histogram),
        `arm B ${scenario}`
      ),
      percentile
    )
    return {
      valuesA: trialsA.map((_, i) => statA(unitWeights(trialsA.length, i))),
      valuesB: trialsB.map((_, i) => statB(unitWeights(trialsA.length, i))),
      pointA: statA(new Array<number>(trialsA.length).fill(1)),
      pointB: statB(new Array<number>(trialsA.length).fill(1))
    }
  }
  let valuesA: number[]
  let valuesB: number[]
  if (metric === 'throughputRps') {
    valuesA = trialsA.map((trial) => trial.throughputRps)
    valuesB = trialsB.map((trial) => trial.throughputRps)
  } else if (metric === 'errorRate') {
    valuesA = trialsA.map((trial) => trial.errorRate)
    valuesB = trialsB.map((trial) => trial.errorRate)
  } else if (metric === 'checkFailureRate') {
    const checksA = checkValues(trialsA)
    const checksB = checkValues(trialsB)
    if (checksA === null || checksB === null) return null
    valuesA = checksA
    valuesB = checksB
  } else {
    const cpuA = cpuValues(trialsA)
    const cpuB = cpuValues(trialsB)
    if (cpuA === null || cpuB === null) return null
    valuesA = cpuA
    valuesB = cpuB
  }
  return { valuesA, valuesB, pointA: valuesA.length > 0 ? median(valuesA) : null, pointB: valuesB.length > 0 ? median(valuesB) : null }
}

/** One metric over pairs: the median per-pair change, its bootstrap over pairs, Wilcoxon signed-rank. */
function comparePairedMetric(
  settings: CompareSettings,
  scenario: string,
  metric: MetricName,
  trialsA: readonly TrialResult[],
  trialsB: readonly TrialResult[],
  invalidReason: string | null,
  scenarioNotes: string[]
): MetricComparison[] {
  if (invalidReason !== null && PERCENTILE_OF[metric] !== undefined) return [invalidMetric(metric, settings, invalidReason)]
  const values = pairedValues(scenario, metric, trialsA, trialsB)
  if (values === null) {
    if (trialsA.length > 0 && metric === 'cpuUsPerRequest' && seriesPartOf(trialsA[0]) === undefined) scenarioNotes.push('CPU µs/req not measured in every trial: not compared')
    return []
  }
  const { valuesA, valuesB, pointA, pointB } = values
  if (invalidReason !== null) return [invalidMetric(metric, settings, invalidReason, pointA, pointB)]
  const kind: ChangeKind = METRIC_INFO[metric].changeKind
  const change = changeOf(kind)
  const perPair = valuesA.map((valueA, i) => change(valueA, valuesB[i] as number))
  const interval = bootstrapOneSample(perPair.length, medianStatistic(perPair), bootstrapSettings(settings, scenario, metric))
  // Signed-rank on log ratios: symmetric in A and B, unlike ratios − 1.
  const forRankTest = kind === 'relative' ? valuesA.map((valueA, i) => Math.log((valuesB[i] as number) / valueA)) : perPair
  return [judged(metricShell(metric, settings), pointA, pointB, interval, wilcoxonSignedRank(forRankTest), settings, false, signedRankMinP(forRankTest.length))]
}
