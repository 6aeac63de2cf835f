// The capacity search's logic, driven by fake trials: coarse doubling, bisection to the
// precision, repeats at both ends, and a generator-limited search reported as a lower bound.
import { describe, expect, it } from 'vitest'
import { searchCapacity, type MeasureStep } from '../../harness/engine/capacity.ts'
import { parseSlo } from '../../harness/stats/slo.ts'
import type { ScenarioSummary, TrialResult } from '../../harness/types.ts'

const latency = (p99Us: number) => ({
  count: 1000,
  min: 100,
  mean: p99Us / 3,
  stdev: 1,
  p50: p99Us / 4,
  p90: p99Us / 2,
  p95: p99Us / 1.5,
  p99: p99Us,
  p999: p99Us * 1.2,
  max: p99Us * 1.5
})

/** A target whose p99 is 2 ms below `capacityRps` and explodes above it; the generator gives out at `generatorRps`. */
function fakeTarget(capacityRps: number, generatorRps = Infinity): MeasureStep & { rates: number[] } {
  const rates: number[] = []
  const measure = async (rateRps: number) => {
    rates.push(rateRps)
    const saturated = rateRps > capacityRps
    const client = rateRps > generatorRps
    const completed = client ? generatorRps : Math.min(rateRps, capacityRps)
    const p99Us = saturated ? 500_000 : 2_000
    const validity: TrialResult['validity'] = client
      ? { state: 'invalid', code: 'CLIENT_LIMITED', reason: 'generator busy' }
      : saturated
        ? { state: 'invalid', code: 'SERVER_SATURATED', reason: 'slots full' }
        : { state: 'valid' }
    const trial = {
      scenario: 'health',
      trial: 0,
      startedAt: '',
      durationMs: 1000,
      requests: completed,
      successes: completed,
      errors: 0,
      errorRate: 0,
      throughputRps: completed,
      bytesRead: 0,
      meanResponseBytes: 0,
      latencyUs: latency(p99Us),
      histogram: '',
      errorsByKind: { byStatus: {}, timeouts: 0, resets: 0, other: 0 },
      statusCounts: {},
      timeline: [],
      openModel: {
        targetRps: rateRps,
        achievedRps: rateRps,
        completedRps: completed,
        scheduled: rateRps,
        sent: completed,
        lateSends: 0,
        lateShare: 0,
        dropped: rateRps - completed,
        eventLoopLagP99Ms: 0
      },
      server: null,
      validity
    } as TrialResult
    const summary = {
      scenario: 'health',
      trials: 1,
      validTrials: validity.state === 'valid' ? 1 : 0,
      throughputRps: completed,
      latencyUs: latency(p99Us),
      errorRate: 0,
      cpuUsPerRequest: null,
      meanResponseBytes: 0,
      histogram: ''
    } as ScenarioSummary
    return { trial, summary }
  }
  return Object.assign(measure, { rates })
}

const settings = { startRps: 250, maxRps: 200_000, precision: 0.05, repeats: 3, slos: [parseSlo('p99<20ms'), parseSlo('errors<0.1%')] }

describe('searchCapacity', () => {
  it('doubles, bisects to 5% and repeats at both ends: a 2,000 req/s target is found within 5%', async () => {
    const target = fakeTarget(2_000)
    const r = await searchCapacity('health', settings, target)
    expect(target.rates.slice(0, 5)).toEqual([250, 500, 1000, 2000, 4000])
    expect(r.capacityRps).toBeGreaterThanOrEqual(1_900)
    expect(r.capacityRps).toBeLessThanOrEqual(2_000)
    expect(r.interval.highRps).toBeGreaterThan(2_000)
    expect(((r.interval.highRps ?? 0) - r.interval.lowRps) / r.interval.lowRps).toBeLessThanOrEqual(0.05)
    expect(r.kneeRps).toBe(r.interval.highRps)
    expect(r.steps.filter((s) => s.rateRps === r.capacityRps && s.outcome === 'pass')).toHaveLength(3)
    expect(r.steps.filter((s) => s.rateRps === r.interval.highRps)).toHaveLength(3)
    expect(r).toMatchObject({ generatorLimited: false, maxRateReached: false })
  })

  it('says so when the generator is the limit, and reports a lower bound', async () => {
    const target = fakeTarget(1_000_000, 3_000)
    const r = await searchCapacity('health', settings, target)
    expect(r.generatorLimited).toBe(true)
    expect(r.interval.highRps).toBeNull()
    expect(r.capacityRps).toBeGreaterThanOrEqual(2_800)
    expect(r.capacityRps).toBeLessThanOrEqual(3_000)
    expect(r.steps.some((s) => s.outcome === 'client-limited')).toBe(true)
  })

  it('a pass that does not repeat is not believed', async () => {
    let n = 0
    const flaky: MeasureStep = async (rate) => {
      const base = await fakeTarget(2_000)(rate)
      // Every third trial at 1,900 req/s misses the objective.
      if (rate > 1_800 && rate <= 2_000 && ++n % 3 === 0) base.summary.latencyUs = latency(50_000)
      return base
    }
    const r = await searchCapacity('health', settings, flaky)
    expect(r.capacityRps).toBeLessThanOrEqual(1_800)
    expect(r.steps.filter((s) => s.rateRps === r.capacityRps).every((s) => s.outcome === 'pass')).toBe(true)
  })
})
