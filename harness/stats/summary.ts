// Per-scenario summaries from trials: median per-trial throughput, percentiles from the merged
// histogram of valid trials (never an average of percentiles). When no trial is valid the figures
// come from the invalid ones and say so (`figuresFromInvalidTrials`): a reader should see what a
// saturated server did; `compare` and `ab` judge trials by their own validity, never these figures.
// Trials imported from k6 carry no histogram, so their summary holds the medians of the trials'
// own percentiles, marked as such. Pure: the engine, the k6 path and `compare` use it.
import { mergeEncoded, summarizeEncoded } from './recorder.ts'
import { median } from './stats.ts'
import type { LatencySummaryUs, ScenarioSummary, TrialResult } from '../types.ts'

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
