// The k6 importer against fixtures written to k6's documented summary formats: --summary-export
// (a threshold `true` means FAILED), handleSummary()'s data, and the machine-readable summary v1.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { K6SummaryError } from '../../harness/errors.ts'
import { detectK6Format, importK6Summary, mergeRunnerTrials } from '../../harness/importers/k6.ts'
import { summarizeScenario } from '../../harness/stats/summary.ts'
import { summarizeEncoded } from '../../harness/stats/recorder.ts'
import { validateResult } from '../../harness/result-io.ts'
import { RESULT_SCHEMA_VERSION, type RunResult, type TrialResult } from '../../harness/types.ts'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/k6/${name}`, import.meta.url), 'utf8')

function asRun(trials: TrialResult[]): RunResult {
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: 'authbench',
    kind: 'run',
    label: 'k6-test',
    createdAt: '2026-01-01T00:00:00.000Z',
    environment: {
      nodeVersion: 'v20',
      platform: 'linux',
      arch: 'x64',
      osRelease: '6',
      cpuModel: 'cpu',
      cpuCount: 2,
      totalMemBytes: 1,
      hostname: 'h',
      gitCommit: null,
      gitDirty: null,
      targetConfig: null,
      variant: null,
      targetOptions: {},
      cpuPinning: { target: null, generator: null },
      driver: 'k6'
    },
    load: { validate: { model: 'open', durationMs: 5000, warmupMs: 0, connections: 64, pipelining: 1, rateRps: 2000, maxRequests: null, timeoutMs: 60000 } },
    scenarios: ['validate'],
    trials,
    summary: [summarizeScenario('validate', trials)],
    calibration: null,
    aborted: null
  }
}

describe('k6 importer: --summary-export', () => {
  const trial = importK6Summary(fixture('summary-export.json'), { scenario: 'validate', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 5000 })

  it('reads the measured sub-metrics, not setup()’s requests', () => {
    expect(detectK6Format(JSON.parse(fixture('summary-export.json')))).toBe('summary-export')
    expect(trial.requests).toBe(9990)
    expect(trial.successes).toBe(9985)
    expect(trial.errors).toBe(5)
    expect(trial.errorRate).toBeCloseTo(5 / 9990, 12)
    expect(trial.errorsByKind).toEqual({ byStatus: {}, timeouts: 1, resets: 1, other: 3 })
    expect(trial.setup).toEqual({ seeded: 1000, setupMs: 1843, exhaustedRequests: 0 })
  })

  it("counts failures by the script's own counters, not its checks: a journey's correctness checks are not failed requests", () => {
    const summary = JSON.parse(fixture('summary-export.json')) as { metrics: Record<string, Record<string, number>> }
    const checksKeys = Object.keys(summary.metrics).filter((k) => k.startsWith('checks'))
    expect(checksKeys.length).toBeGreaterThan(0)
    for (const key of checksKeys) {
      const checks = summary.metrics[key] as Record<string, number>
      // As a journey's "revoked token is refused" check failing 400 times over answers that were all expected.
      checks.fails = (checks.fails ?? 0) + 400
      checks.passes = (checks.passes ?? 0) - 400
    }
    const journey = importK6Summary(JSON.stringify(summary), { scenario: 'validate', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 5000 })
    expect(journey.errors).toBe(5)
    expect(journey.successes).toBe(9985)
  })

  it('converts ms to integer µs and says which statistics k6 did not give', () => {
    expect(trial.latencyUs).toEqual({ count: 9990, min: 210, mean: 1235, stdev: 0, p50: 1101, p90: 2002, p95: 2500, p99: 6123, p999: 17001, max: 38655 })
    for (const v of Object.values(trial.latencyUs)) expect(Number.isInteger(v)).toBe(true)
    expect(trial.k6?.latencyUnreported).toEqual(['stdev'])
  })

  it('takes throughput over the measured window (clock gauge), not k6’s whole-run rate', () => {
    expect(trial.k6?.durationSource).toBe('clock-gauge')
    expect(trial.durationMs).toBe(5001)
    expect(trial.throughputRps).toBeCloseTo(9990 / 5.001, 6)
    expect(trial.bytesRead).toBe(1198800)
    expect(trial.meanResponseBytes).toBeCloseTo(120, 9)
  })

  it('synthesises no histogram: the trial carries an empty one and says it came from k6', () => {
    expect(trial.source).toBe('k6')
    expect(summarizeEncoded(trial.histogram).count).toBe(0)
    expect(trial.k6?.droppedIterations).toBe(10)
    expect(trial.validity).toEqual({ state: 'valid' })
  })

  it('records passing thresholds (false in the export means passed)', () => {
    expect(trial.k6?.thresholdsPassed).toBe(true)
    expect(trial.k6?.thresholds).toContainEqual({ metric: 'http_req_duration{authbench:measure}', expression: 'p(95)<=2.700', passed: true })
    expect(trial.k6?.thresholds).toHaveLength(4)
  })

  it('a threshold value true means the threshold FAILED', () => {
    const failed = importK6Summary(fixture('summary-export-threshold-failed.json'), { scenario: 'validate' })
    expect(failed.k6?.thresholdsPassed).toBe(false)
    expect(
      failed.k6?.thresholds
        .filter((t) => !t.passed)
        .map((t) => t.expression)
        .sort()
    ).toEqual(['p(95)<=2.700', 'p(99)<=7.000'])
    expect(failed.k6?.thresholds.find((t) => t.metric === 'checks{authbench:measure}')?.passed).toBe(true)
    expect(failed.latencyUs.p95).toBe(9750)
  })

  it('produces a result file that matches the result schema', () => {
    const other = importK6Summary(fixture('summary-export-threshold-failed.json'), { scenario: 'validate', trial: 1, startedAt: '2026-01-01T00:01:00.000Z' })
    expect(validateResult(asRun([trial, other]))).toEqual([])
  })
})

describe('k6 importer: machine-readable summary v1', () => {
  const trial = importK6Summary(fixture('new-summary.json'), { scenario: 'token', startedAt: '2026-01-01T00:00:00.000Z' })

  it('reads metrics from the results array and checks from results.checks', () => {
    expect(detectK6Format(JSON.parse(fixture('new-summary.json')))).toBe('machine-readable-v1')
    expect(trial.k6?.format).toBe('machine-readable-v1')
    expect(trial.k6?.k6Version).toBe('1.5.0')
    expect(trial.requests).toBe(4000)
    expect(trial.successes).toBe(3960)
    expect(trial.errorRate).toBeCloseTo(0.01, 12)
    expect(trial.latencyUs.p95).toBe(6250)
  })

  it('marks p99 and p99.9 as unreported instead of inventing them', () => {
    expect(trial.k6?.latencyUnreported).toEqual(['stdev', 'p99', 'p999'])
    expect(trial.latencyUs.p99).toBe(0)
    expect(trial.latencyUs.p999).toBe(0)
  })

  it('takes results.passed as the threshold outcome (v1 lists no thresholds)', () => {
    expect(trial.k6?.thresholds).toEqual([])
    expect(trial.k6?.thresholdsPassed).toBe(false)
  })
})

describe('k6 importer: handleSummary() data and foreign scripts', () => {
  it('falls back on the whole-run metrics and k6’s run duration, and says so', () => {
    const trial = importK6Summary(fixture('handle-summary.json'), { scenario: 'health' })
    expect(trial.k6?.format).toBe('handle-summary')
    expect(trial.requests).toBe(3000)
    expect(trial.successes).toBe(3000)
    expect(trial.k6?.durationSource).toBe('run-duration')
    expect(trial.durationMs).toBe(6013)
    expect(trial.latencyUs.p999).toBe(8800)
    expect(trial.k6?.thresholds).toEqual([{ metric: 'http_req_duration', expression: 'p(95)<=1.000', passed: false }])
    expect(trial.k6?.thresholdsPassed).toBe(false)
    expect(trial.setup).toBeUndefined()
  })

  it('prefers the configured duration over the whole run when the script has no clock gauge', () => {
    const trial = importK6Summary(fixture('handle-summary.json'), { scenario: 'health', durationMs: 5000 })
    expect(trial.k6?.durationSource).toBe('configured')
    expect(trial.throughputRps).toBe(600)
  })

  it('refuses what is not a k6 summary with a coded error naming the file', () => {
    for (const text of ['{not json', '{"hello": 1}', '[]']) {
      try {
        importK6Summary(text, { scenario: 'health', file: 'x.json' })
        expect.unreachable()
      } catch (error) {
        expect(error).toBeInstanceOf(K6SummaryError)
        expect((error as K6SummaryError).code).toBe('AUTHBENCH_ERR_K6_SUMMARY')
        expect((error as Error).message).toContain('x.json')
      }
    }
  })
})

describe('k6-operator runners merged into one trial', () => {
  it('adds counts and throughput, and bounds percentiles from above (max over runners)', () => {
    const a = importK6Summary(fixture('summary-export.json'), { scenario: 'validate' })
    const b = importK6Summary(fixture('summary-export-threshold-failed.json'), { scenario: 'validate' })
    const merged = mergeRunnerTrials([a, b])
    expect(merged.requests).toBe(14990)
    expect(merged.successes).toBe(14985)
    expect(merged.throughputRps).toBeCloseTo(a.throughputRps + b.throughputRps, 9)
    expect(merged.latencyUs.p95).toBe(9750)
    expect(merged.latencyUs.min).toBe(210)
    expect(merged.k6?.runners).toBe(2)
    expect(merged.k6?.thresholdsPassed).toBe(false)
  })
})

describe('per-trial percentiles for compare', () => {
  it('gives k6’s own figure, or null where k6 reported none', async () => {
    const { k6TrialPercentileUs } = await import('../../harness/importers/k6.ts')
    const legacy = importK6Summary(fixture('summary-export.json'), { scenario: 'validate' })
    const v1 = importK6Summary(fixture('new-summary.json'), { scenario: 'token' })
    expect(k6TrialPercentileUs(legacy, 'p99Us')).toBe(6123)
    expect(k6TrialPercentileUs(v1, 'p95Us')).toBe(6250)
    expect(k6TrialPercentileUs(v1, 'p99Us')).toBeNull()
  })
})
