// Per-scenario summaries from trials: median per-trial throughput, percentiles from the merged
// histogram of valid trials (never an average of percentiles). When no trial is valid the figures
// come from the invalid ones and say so (`figuresFromInvalidTrials`): a reader should see what a
// saturated server did; `compare` and `ab` judge trials by their own validity, never these figures.
// Pure: the engine and `compare` use it.
import { mergeEncoded, summarizeEncoded } from './recorder.ts'
import { median } from './stats.ts'
import type { LatencySummaryUs, ScenarioSummary, TrialResult } from './types.ts'

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
