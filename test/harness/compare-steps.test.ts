// The gate knows a journey's steps: each step and the iterations are compared as series of their
// own, so a regression in one step is called and named while the journey's totals hide it; the
// check-failure rate is gated in absolute points; objectives reach a step, the iterations, checks.
import { describe, expect, it } from 'vitest'
import { compareAB, compareResults } from '../../harness/reporters/headline.ts'
import { createHistogram, encodeHistogram, summarize } from '../../harness/stats/recorder.ts'
import { createRng } from '../../harness/stats/stats.ts'
import { applySlos, parseSlo, parseSlos } from '../../harness/stats/slo.ts'
import { summarizeWithSteps } from '../../harness/stats/steps.ts'
import type { JourneyFigures, RunResult, StepFigures, TrialResult } from '../../harness/types.ts'
import { makeAbRun, makeRun } from '../fixtures/results/build.ts'

const rng = createRng(7)

function step(p50Us: number, requests = 2000): StepFigures {
  const h = createHistogram()
  for (let i = 0; i < requests; i++) h.recordValue(Math.max(1, Math.round(p50Us * Math.exp(0.2 * rng.normal()))))
  const figures: StepFigures = {
    requests,
    successes: requests,
    errors: 0,
    errorRate: 0,
    throughputRps: requests / 5,
    latencyUs: summarize(h),
    histogram: encodeHistogram(h),
    statusCounts: { '200': requests },
    errorsByKind: { byStatus: {}, timeouts: 0, resets: 0, other: 0 }
  }
  h.destroy()
  return figures
}

function journey(readP50Us: number, checkFailures = 0): JourneyFigures {
  const iterations = step(3000)
  return {
    iterations: { started: 2000, completed: 2000, failed: 0, dropped: 0, throughputPerS: 400, latencyUs: iterations.latencyUs, histogram: iterations.histogram },
    steps: { create: step(1000), read: step(readP50Us), delete: step(1000) },
    groups: {},
    checks: {
      passes: 2000 - checkFailures,
      failures: checkFailures,
      failureRate: checkFailures / 2000,
      byName: { 'name is a': { passes: 2000 - checkFailures, failures: checkFailures } }
    },
    peakVus: 8
  }
}

function withJourneys(run: RunResult, of: (trial: TrialResult) => JourneyFigures): RunResult {
  const trials = run.trials.map((t) => ({ ...t, journey: of(t) }))
  return { ...run, trials, summary: run.scenarios.map((s) => summarizeWithSteps(s, trials)) }
}

const shape = { trials: 5, throughputRps: 1200, p50Us: 1500, cpuUsPerRequest: 90 }

describe('the gate on journeys', () => {
  it('ab: a step whose p50 doubled is a regression named by its step', () => {
    const run = withJourneys(makeAbRun('steps', 3, 8, { crud: { a: shape, b: shape, driftSigma: 0.02 } }), (t) => journey(t.arm === 'B' ? 2000 : 1000))
    const comparison = compareAB(run)
    expect(comparison.verdict).toBe('regression')
    expect(comparison.headline).toMatch(/REGRESSION: crud\/read p50 \+/)
    const read = comparison.scenarios.find((s) => s.scenario === 'crud/read')
    expect(read?.part).toEqual({ scenario: 'crud', kind: 'step', step: 'read' })
    expect(comparison.scenarios.find((s) => s.scenario === 'crud/create')?.verdict).toBe('no-change')
    expect(comparison.scenarios.map((s) => s.scenario)).toEqual(['crud', 'crud/create', 'crud/read', 'crud/delete', 'crud (iterations)'])
    expect(comparison.headline).toMatch(/over 1 scenario\(s\) and 4 journey step series/)
  })

  it('compare: 1% check failures against none is a regression in check failures, in points', () => {
    const baseline = withJourneys(makeRun({ label: 'base', seed: 1, scenarios: { crud: shape } }), () => journey(1000))
    const current = withJourneys(makeRun({ label: 'cur', seed: 2, scenarios: { crud: shape } }), () => journey(1000, 20))
    const comparison = compareResults(baseline, current)
    expect(comparison.verdict).toBe('regression')
    const checks = comparison.scenarios.find((s) => s.scenario === 'crud')?.metrics.find((m) => m.metric === 'checkFailureRate')
    expect(checks?.verdict).toBe('regression')
    expect(checks?.change).toBeCloseTo(0.01, 6)
    expect(comparison.headline).toMatch(/REGRESSION: crud check failures \+1\.0[0-9]* pp/)
  })

  it('a run without journeys is compared exactly as before: no step series, no check metric', () => {
    const a = makeRun({ label: 'a', seed: 1, scenarios: { health: shape } })
    const b = makeRun({ label: 'b', seed: 2, scenarios: { health: shape } })
    const comparison = compareResults(a, b)
    expect(comparison.scenarios.map((s) => s.scenario)).toEqual(['health'])
    expect(comparison.scenarios[0]?.metrics.map((m) => m.metric)).not.toContain('checkFailureRate')
  })
})

describe('objectives on a journey', () => {
  it('parse a step (whose name may hold colons), the iterations and checks', () => {
    expect(parseSlo('step:GET /items/:id:p99<50ms')).toMatchObject({ metric: 'p99', threshold: 50_000, series: { kind: 'step', step: 'GET /items/:id' } })
    expect(parseSlo('iterations:throughput>=100')).toMatchObject({ metric: 'throughput', threshold: 100, series: { kind: 'iterations' } })
    expect(parseSlo('checks<0.1%')).toMatchObject({ metric: 'checks', threshold: 0.001 })
    expect(() => parseSlo('step:p99<5ms')).toThrow(/names no step/)
    expect(() => parseSlo('step:read:checks<1%')).toThrow(/checks per scenario only/)
    expect(() => parseSlo('checks>1%')).toThrow(/upper bound/)
  })

  it('are judged on the step, the iterations and the checks; a step no scenario has is a usage error', () => {
    const run = withJourneys(makeRun({ label: 'r', seed: 4, scenarios: { crud: shape } }), () => journey(1000, 4))
    const summaries = run.summary
    expect(applySlos(parseSlos(['step:read:p50<1500us', 'step:read:p50<500us', 'checks<0.1%', 'checks<1%', 'iterations:throughput>=100']), summaries)).toBe(false)
    expect(summaries[0]?.slo?.map((s) => s.passed)).toEqual([true, false, false, true, true])
    expect(summaries[0]?.slo?.[0]?.step).toBe('read')
    expect(() => applySlos(parseSlos(['step:raed:p99<1s']), summaries)).toThrow(/no scenario of this run has step "raed" \(steps: create, read, delete\)/)
  })
})
