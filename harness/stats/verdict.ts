// What each metric means for the gate (direction, how a change is expressed, its margin) and how
// an interval becomes a verdict. The defaults live in DEFAULT_COMPARE_SETTINGS only: the A/A
// calibration script tunes them there, and the config file's `gate` (harness/config.ts) overrides them.
import { z } from 'zod'
import { CompareError } from '../errors.ts'
import { formatP } from './sensitivity.ts'
import type { CompareSettings, MetricName, Verdict } from '../types.ts'

export const METRICS: readonly MetricName[] = Object.freeze(['throughputRps', 'p50Us', 'p95Us', 'p99Us', 'errorRate', 'cpuUsPerRequest'])

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
  cpuUsPerRequest: { label: 'CPU µs/req', better: 'lower', changeKind: 'relative', unit: 'µs/req' }
})

/**
 * The one place the gate's defaults live. scripts/gate-accuracy.ts measured them on the 2-core VM
 * (token, 6 slot-interleaved pairs of 4 s per arm, 20 A/A + 40 injected gate runs; README "How
 * accurate is the gate"): 0/20 A/A runs called a regression or an improvement; a measured +10%
 * CPU per request was called a regression 10/10, +5% 0/10 (inconclusive). Margins ×0.5 still gave
 * 0/20 false alarms and caught +5% 10/10 on that quiet day, but a busier machine widens the
 * intervals (±12% in an earlier session), and a 2-3% systematic difference between arms would
 * then trip a 2.5% margin; so the margins stay at 5% and a team may lower them in its
 * authbench config's `gate`.
 */
export const DEFAULT_COMPARE_SETTINGS: Readonly<CompareSettings> = Object.freeze({
  margins: Object.freeze({
    throughputRps: 0.05,
    p50Us: 0.05,
    p95Us: 0.08,
    p99Us: 0.1,
    errorRate: 0.002,
    cpuUsPerRequest: 0.05
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

const metricEnum = z.enum(['throughputRps', 'p50Us', 'p95Us', 'p99Us', 'errorRate', 'cpuUsPerRequest'])

/** The config file's `gate`: overrides of DEFAULT_COMPARE_SETTINGS. */
export const settingsOverrideSchema = z.strictObject({
  margins: z.partialRecord(metricEnum, z.number().positive().max(10)).optional(),
  gatedMetrics: z.array(metricEnum).optional(),
  minTrials: z.number().int().min(1).optional(),
  maxInvalidTrials: z.number().int().min(0).optional(),
  confidence: z.number().gt(0.5).lt(1).optional(),
  resamples: z.number().int().min(200).max(100_000).optional(),
  seed: z.number().int().optional(),
  intervalMethod: z.enum(['bca', 'percentile']).optional(),
  requireSignificance: z.boolean().optional()
})

export type CompareSettingsOverride = z.infer<typeof settingsOverrideSchema>

/** Merges overrides over the defaults; throws AUTHBENCH_ERR_CONFIG_INVALID naming the bad key. */
export function resolveCompareSettings(overrides: unknown = {}, source = 'settings'): CompareSettings {
  const parsed = settingsOverrideSchema.safeParse(overrides ?? {})
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
    throw new CompareError('AUTHBENCH_ERR_CONFIG_INVALID', `${source}: ${problems}`)
  }
  const { margins, gatedMetrics, ...rest } = parsed.data
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
  return {
    ...DEFAULT_COMPARE_SETTINGS,
    ...defined,
    margins: { ...DEFAULT_COMPARE_SETTINGS.margins, ...margins },
    gatedMetrics: [...(gatedMetrics ?? DEFAULT_COMPARE_SETTINGS.gatedMetrics)]
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
  margin: number
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
 * regression: the whole interval is past +margin on the bad side; improvement: the mirror;
 * no change: the whole interval is within ±margin; inconclusive: it crosses a margin.
 */
export function decideVerdict(input: VerdictInput): VerdictDecision {
  const { interval, margin } = input
  if (interval === null || !Number.isFinite(interval.low) || !Number.isFinite(interval.high)) {
    return { verdict: 'invalid', note: 'no finite interval (a baseline of 0, or no data)' }
  }
  // Turn the interval into "how much worse": positive is bad whatever the metric's direction.
  const worseLow = input.better === 'lower' ? interval.low : -interval.high
  const worseHigh = input.better === 'lower' ? interval.high : -interval.low
  const significant = !input.requireSignificance || input.pValue === null || input.pValue < input.alpha
  if (worseLow > margin || worseHigh < -margin) {
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
  if (worseLow >= -margin && worseHigh <= margin) return { verdict: 'no-change' }
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
