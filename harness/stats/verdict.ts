// What each metric means for the gate (direction, how a change is expressed, its margin) and how
// an interval becomes a verdict. The defaults live in DEFAULT_COMPARE_SETTINGS only: the A/A
// calibration script tunes them there, and the config file's `gate` (harness/config.ts) overrides them.
import { CompareError } from '../errors.ts'
import { formatP } from './sensitivity.ts'
import type { CompareSettings, MetricName, Verdict } from '../types.ts'
import { settingsOverrideSchema } from '../gate-settings.ts'

export const METRICS: readonly MetricName[] = Object.freeze(['throughputRps', 'p50Us', 'p95Us', 'p99Us', 'errorRate', 'cpuUsPerRequest', 'checkFailureRate'])

export interface MetricInfo {
  label: string
  better: 'higher' | 'lower'
  /** errorRate is compared in absolute points: its baseline is usually 0, where a ratio is undefined. */
  changeKind: 'relative' | 'absolute'
  unit: 'req/s' | 'µs' | '%' | 'µs/req'
}

export const METRIC_INFO: Readonly<Record<MetricName, MetricInfo>> = Object.freeze({
  throughputRps: { label: 'throughput', better: 'higher', changeKind: 'relative', unit: 'req/s' },
  p50Us: { label: 'p50', better: 'lower', changeKind: 'relative', unit: 'µs' },
  p95Us: { label: 'p95', better: 'lower', changeKind: 'relative', unit: 'µs' },
  p99Us: { label: 'p99', better: 'lower', changeKind: 'relative', unit: 'µs' },
  errorRate: { label: 'error rate', better: 'lower', changeKind: 'absolute', unit: '%' },
  cpuUsPerRequest: { label: 'CPU µs/req', better: 'lower', changeKind: 'relative', unit: 'µs/req' },
  // Journeys only: the share of checks that failed (a revoked token that still validated), compared
  // in absolute points like the error rate.
  checkFailureRate: { label: 'check failures', better: 'lower', changeKind: 'absolute', unit: '%' }
})

/**
 * The one place the gate's defaults live. These margins are for `compare` against a stored
 * baseline: the baseline's trials ran at another time, and on the VMs measured the machine's speed
 * moves 12–21% between spells a few seconds apart, a drift that the interval over one run's trials
 * does not contain; 5% keeps that drift from reading as a regression. scripts/gate-accuracy.ts
 * measured them (token, 20 A/A + 40 injected gate runs; docs/gate-accuracy.md): 0/20
 * A/A runs called a regression or an improvement; +10% CPU per request caught 10/10.
 */
export const DEFAULT_COMPARE_SETTINGS: Readonly<CompareSettings> = Object.freeze({
  margins: Object.freeze({
    throughputRps: 0.05,
    p50Us: 0.05,
    p95Us: 0.08,
    p99Us: 0.1,
    errorRate: 0.002,
    cpuUsPerRequest: 0.05,
    checkFailureRate: 0.002
  }) as Record<MetricName, number>,
  gatedMetrics: Object.freeze([...METRICS]) as MetricName[],
  minTrials: 3,
  maxInvalidTrials: 0,
  confidence: 0.95,
  resamples: 2000,
  seed: 0x5eed,
  intervalMethod: 'bca',
  requireSignificance: true
})

export { settingsOverrideSchema } from '../gate-settings.ts'
export type { CompareSettingsOverride } from '../gate-settings.ts'

/**
 * What the comparison pairs: `baseline` compares a run with a stored one from another time;
 * `paired` compares the two arms of one interleaved A/B run (`ab`), measured at the same moments.
 */
export type GateDesign = 'baseline' | 'paired'

/**
 * The margins of a paired A/B comparison: half of the baseline's. In a pair both arms run at the
 * same moments on the same machine (the duet), so the machine's drift cancels in the per-pair
 * ratio and the interval over pairs holds what noise is left; the margin then only says how small
 * a change is not worth failing CI for, and at 5% a +5% regression could be called at most half
 * the time (a regression needs the whole interval past the margin). Measured with
 * scripts/gate-accuracy.ts at these margins (docs/gate-accuracy.md): on a quiet AMD EPYC
 * guest 0/20 A/A runs called a regression or an improvement and a +5% CPU change was caught 10/10;
 * beside the calibrated noisy neighbour on an Intel Xeon guest, the same: 0/20 and 10/10 (+10%,
 * +20% and the tail-only change through p99 also 10/10).
 */
export const PAIRED_DEFAULT_MARGINS: Readonly<Record<MetricName, number>> = Object.freeze({
  throughputRps: 0.025,
  p50Us: 0.025,
  p95Us: 0.04,
  p99Us: 0.05,
  errorRate: 0.002,
  cpuUsPerRequest: 0.025,
  checkFailureRate: 0.002
})

/** The defaults for a design: DEFAULT_COMPARE_SETTINGS, with the paired margins for `paired`. */
export function defaultSettingsFor(design: GateDesign): Readonly<CompareSettings> {
  return design === 'paired' ? { ...DEFAULT_COMPARE_SETTINGS, margins: { ...PAIRED_DEFAULT_MARGINS } } : DEFAULT_COMPARE_SETTINGS
}

/**
 * Merges overrides over the design's defaults; throws AUTHBENCH_ERR_CONFIG_INVALID naming the bad
 * key. A config's `gate.margins` sets both designs' margins: a team that chose its margin chose it
 * for every comparison.
 */
export function resolveCompareSettings(overrides: unknown = {}, source = 'settings', design: GateDesign = 'baseline'): CompareSettings {
  const parsed = settingsOverrideSchema.safeParse(overrides ?? {})
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
    throw new CompareError('AUTHBENCH_ERR_CONFIG_INVALID', `${source}: ${problems}`)
  }
  const { margins, gatedMetrics, ...rest } = parsed.data
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
  const defaults = defaultSettingsFor(design)
  return {
    ...defaults,
    ...defined,
    margins: { ...defaults.margins, ...margins },
    gatedMetrics: [...(gatedMetrics ?? defaults.gatedMetrics)]
  }
}

/**
 * Calibration slices that differ more than this (max − min over the median), or a calibration
 * that moved this much more or less than the health scenario between two machines, make the
 * cross-machine yardstick suspect; `compare` says so.
 */
export const CALIBRATION_MAX_SPREAD = 0.1

export interface VerdictInput {
  /** The change and its interval, signed as current minus baseline (relative or absolute). */
  interval: { low: number; high: number } | null
  /** The margin on the bad side. */
  margin: number
  /** The margin on the good side; `margin` when absent. */
  improvementMargin?: number
  better: 'higher' | 'lower'
  /** Two-sided rank-test p; null skips the significance guard. */
  pValue: number | null
  alpha: number
  requireSignificance: boolean
  /**
   * The smallest p the rank test can give with the trials at hand. When the guard is on and even
   * that is not below alpha, the test could never agree, so an interval past the margin is
   * reported invalid (exit 2) rather than inconclusive (exit 0): too few trials must not pass a
   * gross regression.
   */
  attainablePValue?: number
}

export interface VerdictDecision {
  verdict: Verdict
  note?: string
}

/**
 * regression: the whole interval is past the margin on the bad side; improvement: past the
 * improvement margin on the good side; no change: the whole interval lies between the two;
 * inconclusive: it crosses one.
 */
export function decideVerdict(input: VerdictInput): VerdictDecision {
  const { interval, margin } = input
  const goodMargin = input.improvementMargin ?? margin
  if (interval === null || !Number.isFinite(interval.low) || !Number.isFinite(interval.high)) {
    return { verdict: 'invalid', note: 'no finite interval (a baseline of 0, or no data)' }
  }
  // Turn the interval into "how much worse": positive is bad whatever the metric's direction.
  const worseLow = input.better === 'lower' ? interval.low : -interval.high
  const worseHigh = input.better === 'lower' ? interval.high : -interval.low
  const significant = !input.requireSignificance || input.pValue === null || input.pValue < input.alpha
  if (worseLow > margin || worseHigh < -goodMargin) {
    const verdict: Verdict = worseLow > margin ? 'regression' : 'improvement'
    if (significant) return { verdict }
    if (input.attainablePValue !== undefined && input.attainablePValue >= input.alpha) {
      return {
        verdict: 'invalid',
        note: `interval says ${verdict} but too few trials for the rank test to decide (its smallest p here is ${formatP(input.attainablePValue)}, not below ${formatP(input.alpha)}): run more trials`
      }
    }
    return {
      verdict: 'inconclusive',
      note: `interval says ${verdict} but the rank test does not (p = ${formatP(input.pValue ?? Number.NaN)} ≥ ${formatP(input.alpha)}): more trials needed`
    }
  }
  if (worseLow >= -goodMargin && worseHigh <= margin) return { verdict: 'no-change' }
  return { verdict: 'inconclusive', note: 'the interval crosses the margin' }
}

/**
 * Combines verdicts into one. A regression outranks invalid data elsewhere: it is a real finding
 * and CI should say so; invalid outranks the rest because nothing else can be trusted then.
 */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  const rank: Verdict[] = ['regression', 'invalid', 'inconclusive', 'improvement', 'no-change']
  for (const verdict of rank) if (verdicts.includes(verdict)) return verdict
  return 'invalid'
}

export function exitCodeFor(verdict: Verdict): 0 | 1 | 2 {
  if (verdict === 'regression') return 1
  if (verdict === 'invalid') return 2
  return 0
}
