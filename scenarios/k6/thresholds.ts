// k6 thresholds that mirror the gate's margins (harness/stats/verdict.ts DEFAULT_COMPARE_SETTINGS).
// verdict.ts cannot be imported here: it reads the config file with node:fs and validates with
// zod, neither of which exists in k6. The figures are therefore repeated in GATE_MARGINS, and
// test/harness/k6-scripts.test.ts fails when they drift from the gate's defaults.
import { MEASURED_SUBMETRICS } from '../../harness/k6-contract.ts'

/** Same keys, meanings and values as DEFAULT_COMPARE_SETTINGS.margins. */
export const GATE_MARGINS = Object.freeze({
  throughputRps: 0.05,
  p50Us: 0.05,
  p95Us: 0.08,
  p99Us: 0.1,
  /** Absolute (0.002 = 0.2 percentage points): a baseline error rate is usually 0. */
  errorRate: 0.002,
  cpuUsPerRequest: 0.05,
  /**
   * Absolute, as errorRate. k6 reports status and journey checks as one `checks` rate, whose
   * threshold below is the error rate's, so no threshold reads this; it keeps the figures equal.
   */
  checkFailureRate: 0.002
})

/** A baseline's figures, in the harness's units; any may be absent. */
export interface BaselineFigures {
  p50Us?: number
  p95Us?: number
  p99Us?: number
  errorRate?: number
}

/**
 * The gate asks "worse than the baseline by more than the margin?"; a k6 threshold can only
 * compare with a constant, so the constant is baseline × (1 + margin). Without a baseline the
 * latency thresholds only surface the measured sub-metric (k6 reports a sub-metric only when a
 * threshold names it) and never fail. Throughput gets no threshold: k6's `rate` divides by the
 * whole run, setup() included, so it would judge the wrong figure; `authbench compare` judges it.
 */
export function gateThresholds(baseline: BaselineFigures = {}): Record<string, string[]> {
  const ms = (us: number): string => (us / 1000).toFixed(3)
  const latency: string[] = []
  if (baseline.p50Us !== undefined) latency.push(`med<=${ms(baseline.p50Us * (1 + GATE_MARGINS.p50Us))}`)
  if (baseline.p95Us !== undefined) latency.push(`p(95)<=${ms(baseline.p95Us * (1 + GATE_MARGINS.p95Us))}`)
  if (baseline.p99Us !== undefined) latency.push(`p(99)<=${ms(baseline.p99Us * (1 + GATE_MARGINS.p99Us))}`)
  if (latency.length === 0) latency.push('max>=0')
  const allowedErrorRate = (baseline.errorRate ?? 0) + GATE_MARGINS.errorRate
  return {
    [MEASURED_SUBMETRICS.duration]: latency,
    [MEASURED_SUBMETRICS.requests]: ['count>=0'],
    // A check fails exactly when the status was not one the catalog expects.
    [MEASURED_SUBMETRICS.checks]: [`rate>=${(1 - allowedErrorRate).toFixed(6)}`]
  }
}

/** Reads BASELINE_P50_US, BASELINE_P95_US, BASELINE_P99_US, BASELINE_ERROR_RATE (k6 -e or env). */
export function baselineFromEnv(env: Readonly<Record<string, string | undefined>>): BaselineFigures {
  const num = (name: string): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return undefined
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0) throw new Error(`AUTHBENCH_ERR_BAD_OPTION: ${name}="${raw}" is not a number ≥ 0`)
    return value
  }
  const out: BaselineFigures = {}
  const p50Us = num('BASELINE_P50_US')
  const p95Us = num('BASELINE_P95_US')
  const p99Us = num('BASELINE_P99_US')
  const errorRate = num('BASELINE_ERROR_RATE')
  if (p50Us !== undefined) out.p50Us = p50Us
  if (p95Us !== undefined) out.p95Us = p95Us
  if (p99Us !== undefined) out.p99Us = p99Us
  if (errorRate !== undefined) out.errorRate = errorRate
  return out
}
