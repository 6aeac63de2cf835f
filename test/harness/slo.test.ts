// SLO expressions: parsed into a metric, an operator and a threshold in the metric's unit; a bad
// one names itself and is a usage error (exit 2); checked on a scenario's merged figures.
import { describe, expect, it } from 'vitest'
import { main } from '../../harness/cli/cli.ts'
import { applySlos, checkSlos, parseSlo } from '../../harness/stats/slo.ts'
import type { ScenarioSummary } from '../../harness/types.ts'

const summary = (over: Partial<ScenarioSummary> = {}): ScenarioSummary => ({
  scenario: 'validate',
  trials: 2,
  validTrials: 2,
  throughputRps: 1_500,
  errorRate: 0.0005,
  cpuUsPerRequest: null,
  meanResponseBytes: 10,
  histogram: '',
  latencyUs: { count: 1000, min: 100, mean: 900, stdev: 50, p50: 800, p90: 5_000, p95: 9_000, p99: 19_000, p999: 40_000, max: 90_000 },
  ...over
})

describe('parseSlo', () => {
  it('reads latency in us, ms and s, errors as a percentage or a share, throughput in req/s', () => {
    expect(parseSlo('p99<20ms')).toEqual({ expression: 'p99<20ms', metric: 'p99', operator: '<', threshold: 20_000 })
    expect(parseSlo(' p95 <= 100 ms ')).toMatchObject({ metric: 'p95', operator: '<=', threshold: 100_000 })
    expect(parseSlo('p99.9<1.5s')).toMatchObject({ metric: 'p99.9', threshold: 1_500_000 })
    expect(parseSlo('max<500us')).toMatchObject({ metric: 'max', threshold: 500 })
    expect(parseSlo('errors<0.1%').threshold).toBeCloseTo(0.001, 12)
    expect(parseSlo('errors<=0.01')).toMatchObject({ metric: 'errors', threshold: 0.01 })
    expect(parseSlo('throughput>=1000')).toMatchObject({ metric: 'throughput', operator: '>=', threshold: 1000 })
  })

  it.each([
    ['p99<20', /needs a time unit/],
    ['latency<20ms', /names no known metric \("latency"\)/],
    ['p99>20ms', /upper bound/],
    ['errors>1%', /upper bound/],
    ['errors<120%', /above 100%/],
    ['throughput<10', /lower bound/],
    ['p99 20ms', /is not "<metric><op><value>"/],
    ['p99<0ms', /greater than 0/]
  ])('refuses %s, naming it', (raw, why) => {
    expect(() => parseSlo(raw)).toThrow(why)
    expect(() => parseSlo(raw)).toThrow(`--slo "${raw}"`)
  })
})

describe('checkSlos', () => {
  it('judges the merged figures; a scenario with no valid trial fails every objective', () => {
    const slos = ['p99<20ms', 'p99<19ms', 'errors<0.1%', 'throughput>2000'].map(parseSlo)
    expect(checkSlos(slos, summary()).map((r) => [r.expression, r.passed, r.actual])).toEqual([
      ['p99<20ms', true, 19_000],
      ['p99<19ms', false, 19_000],
      ['errors<0.1%', true, 0.0005],
      ['throughput>2000', false, 1_500]
    ])
    const none = checkSlos(slos.slice(0, 1), summary({ validTrials: 0, figuresFromInvalidTrials: true }))
    expect(none[0]).toMatchObject({ passed: false, actual: null, note: expect.stringMatching(/no valid trial/) })
    const all = [summary(), summary({ scenario: 'token' })]
    expect(applySlos(slos.slice(0, 1), all)).toBe(true)
    expect(all[1]?.slo?.[0]?.passed).toBe(true)
    expect(applySlos(slos.slice(1, 2), all)).toBe(false)
  })
})

describe('--slo on the command line', () => {
  it('a bad expression exits 2 naming it, before any load', async () => {
    for (const argv of [
      ['run', '--scenario', 'health', '--slo', 'p99<20ms', '--slo', 'p99<<5ms'],
      ['ab', '--a', 'phase2', '--b', 'phase2', '--slo', 'p42<5ms']
    ]) {
      let err = ''
      const code = await main(['node', 'authbench', ...argv], {
        stdout: () => undefined,
        stderr: (t) => {
          err += t
        }
      })
      expect(code).toBe(2)
      expect(err).toContain(`--slo "${argv.at(-1)}"`)
    }
  })
})
