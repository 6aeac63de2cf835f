// The smallest change a run could have called a regression: the formula on known intervals, and
// on a paired fixture with a known per-pair spread, checked against the gate itself (a change a
// hair above the figure is called a regression, a hair below is not).
import { describe, expect, it } from 'vitest'
import { compareAB } from '../../harness/reporters/headline.ts'
import { mannWhitneyMinP, minPairsFor, sensitivityOf, signedRankMinP } from '../../harness/stats/sensitivity.ts'
import { decideVerdict, resolveCompareSettings } from '../../harness/stats/verdict.ts'
import type { MetricName, RunResult } from '../../harness/types.ts'
import { renderJunit } from '../../harness/reporters/junit.ts'
import { renderMarkdown } from '../../harness/reporters/markdown.ts'
import { makeAbRun } from '../fixtures/results/build.ts'

const SHAPE = { trials: 1, throughputRps: 10_000, p50Us: 1_000, cpuUsPerRequest: 80 }
/** Per-pair B/A ratios with a known spread: ±3% around 1, median 1. */
const RATIOS = [0.97, 0.985, 0.995, 1.0, 1.0, 1.005, 1.015, 1.03]

/** A paired run whose per-pair throughput and CPU ratios are `ratios` scaled by `scale`. */
function fixture(ratios: readonly number[], scale: { throughput: number; cpu: number }): RunResult {
  const run = makeAbRun('known-spread', 7, ratios.length, { validate: { a: SHAPE, b: SHAPE, driftSigma: 0.1 } })
  for (const trial of run.trials) {
    if (trial.arm !== 'B') continue
    const a = run.trials.find((t) => t.arm === 'A' && t.pair === trial.pair)
    const ratio = ratios[trial.pair as number] as number
    if (a === undefined || a.server === null || trial.server === null) throw new Error('fixture needs both arms with server metrics')
    trial.throughputRps = a.throughputRps * ratio * scale.throughput
    trial.server = { ...trial.server, cpuUsPerRequest: (a.server.cpuUsPerRequest as number) * ratio * scale.cpu }
  }
  return run
}

const settings = resolveCompareSettings({})
function cell(run: RunResult, name: MetricName) {
  const found = compareAB(run, { settings }).scenarios[0]?.metrics.find((m) => m.metric === name)
  if (found === undefined) throw new Error(`no ${name}`)
  return found
}

describe('sensitivityOf', () => {
  it('lower is better: the interval moved so its near end sits on the margin', () => {
    // Estimate 0, interval [−2%, +2%], margin 5%: (1.05 × 1) / 0.98 − 1 = 7.142857…%
    const s = sensitivityOf({ changeKind: 'relative', better: 'lower', margin: 0.05, estimate: 0, interval: { low: -0.02, high: 0.02 }, attainablePValue: 0.0078, alpha: 0.05 })
    expect(s.detectableChange).toBeCloseTo(0.05 / 0.98 + 0.02 / 0.98, 10)
    expect(s.halfWidth).toBeCloseTo(0.02, 12)
    expect(s.tooNoisy).toBe(false)
  })

  it("higher is better: a fall, measured from the interval's upper end", () => {
    // Estimate +1%, interval [−3%, +4%], margin 5%: 1 − 0.95 × 1.01 / 1.04 = 7.740…%
    const s = sensitivityOf({ changeKind: 'relative', better: 'higher', margin: 0.05, estimate: 0.01, interval: { low: -0.03, high: 0.04 }, attainablePValue: null, alpha: 0.05 })
    expect(s.detectableChange).toBeCloseTo(1 - (0.95 * 1.01) / 1.04, 12)
    expect(s.halfWidth).toBeCloseTo(0.03, 12)
  })

  it('absolute (error rate): margin plus the near-side half-width', () => {
    const s = sensitivityOf({ changeKind: 'absolute', better: 'lower', margin: 0.002, estimate: 0.001, interval: { low: 0, high: 0.004 }, attainablePValue: null, alpha: 0.05 })
    expect(s.detectableChange).toBeCloseTo(0.003, 12)
  })

  it('too noisy when the detectable change is past twice the margin; none when the rank test cannot reach alpha', () => {
    const wide = sensitivityOf({ changeKind: 'relative', better: 'lower', margin: 0.05, estimate: 0, interval: { low: -0.12, high: 0.15 }, attainablePValue: 0.0078, alpha: 0.05 })
    expect(wide.detectableChange).toBeCloseTo(1.05 / 0.88 - 1, 12)
    expect(wide.tooNoisy).toBe(true)
    const fewPairs = sensitivityOf({
      changeKind: 'relative',
      better: 'lower',
      margin: 0.05,
      estimate: 0,
      interval: { low: -0.01, high: 0.01 },
      attainablePValue: signedRankMinP(4),
      alpha: 0.05
    })
    expect(fewPairs.detectableChange).toBeNull()
    expect(fewPairs.tooNoisy).toBe(true)
    expect(fewPairs.note).toMatch(/smallest p here is 0\.125, not below 0\.05/)
  })

  it("the exact tests' smallest p-values", () => {
    expect(signedRankMinP(6)).toBeCloseTo(0.03125, 12)
    expect(minPairsFor(0.05)).toBe(6)
    expect(minPairsFor(0.01)).toBe(8)
    expect(mannWhitneyMinP(3, 3)).toBeCloseTo(0.1, 12)
    expect(mannWhitneyMinP(5, 3)).toBeCloseTo(2 / 56, 12)
  })
})

describe('the detectable change of a paired fixture with a known spread', () => {
  it('with no spread at all it is the margin itself', () => {
    const flat = cell(fixture(new Array<number>(8).fill(1), { throughput: 1, cpu: 1 }), 'cpuUsPerRequest')
    expect(flat.sensitivity?.detectableChange).toBeCloseTo(0.05, 9)
  })

  for (const name of ['throughputRps', 'cpuUsPerRequest'] as const) {
    it(`${name}: a change just above the figure is called a regression, just below it is not`, () => {
      const measured = cell(fixture(RATIOS, { throughput: 1, cpu: 1 }), name)
      const detectable = measured.sensitivity?.detectableChange as number
      // ±3% spread over 8 pairs: the interval's near end is 1.5–3% from the median.
      expect(detectable).toBeGreaterThan(0.06)
      expect(detectable).toBeLessThan(0.085)
      expect(measured.sensitivity?.tooNoisy).toBe(false)
      const shifted = (change: number) => {
        // Same noise around a true change: remove the measured estimate, then apply the change.
        const factor = (1 + (name === 'throughputRps' ? -change : change)) / (1 + (measured.change as number))
        return cell(fixture(RATIOS, name === 'throughputRps' ? { throughput: factor, cpu: 1 } : { throughput: 1, cpu: factor }), name)
      }
      expect(shifted(detectable * 1.01).verdict).toBe('regression')
      expect(shifted(detectable * 0.99).verdict).not.toBe('regression')
    })
  }
})

describe('too few trials never pass a gross regression', () => {
  it('an interval far past the margin that the rank test cannot confirm is invalid (exit 2), not inconclusive', () => {
    const decision = decideVerdict({
      interval: { low: 0.6, high: 0.75 },
      margin: 0.05,
      better: 'lower',
      pValue: 0.125,
      alpha: 0.05,
      requireSignificance: true,
      attainablePValue: signedRankMinP(4)
    })
    expect(decision.verdict).toBe('invalid')
    expect(decision.note).toMatch(/too few trials/)
    // With enough pairs, a p that misses is an honest "inconclusive", printed without float noise.
    const enough = decideVerdict({
      interval: { low: 0.06, high: 0.1 },
      margin: 0.05,
      better: 'lower',
      pValue: 0.0625,
      alpha: 1 - 0.95,
      requireSignificance: true,
      attainablePValue: signedRankMinP(8)
    })
    expect(enough.verdict).toBe('inconclusive')
    expect(enough.note).toContain('p = 0.0625 ≥ 0.05)')
  })

  it('compareAB with four pairs of a −69% throughput change exits 2', () => {
    const run = fixture([0.3, 0.31, 0.305, 0.315], { throughput: 1, cpu: 1 })
    const comparison = compareAB(run, { settings })
    const throughput = comparison.scenarios[0]?.metrics.find((m) => m.metric === 'throughputRps')
    expect(throughput?.verdict).toBe('invalid')
    expect(comparison.exitCode).toBe(2)
  })
})

describe('the reports state it', () => {
  it('a run with a ±25% per-pair spread says TOO NOISY in the headline and marks the cells in markdown and JUnit', () => {
    const run = fixture([0.75, 0.85, 0.95, 1.0, 1.0, 1.05, 1.15, 1.25], { throughput: 1, cpu: 1 })
    const comparison = compareAB(run, { settings })
    expect(comparison.exitCode).toBe(0)
    expect(comparison.headline).toMatch(/TOO NOISY to detect a regression of twice the margin in \d+ of \d+ gated cell\(s\) \(worst: validate /)
    const throughput = comparison.scenarios[0]?.metrics.find((m) => m.metric === 'throughputRps')
    expect(throughput?.sensitivity?.tooNoisy).toBe(true)
    const markdown = renderMarkdown(run, comparison)
    expect(markdown).toContain('| detectable |')
    expect(markdown).toMatch(/\| ⚠️ −\d+\.\d% \|/)
    expect(markdown).toContain('Detectable: detectable = the smallest change')
    expect(renderJunit(run, comparison)).toMatch(/detectable ⚠️ −\d+\.\d%/)
    // The quiet fixture says nothing of the kind.
    expect(compareAB(fixture(RATIOS, { throughput: 1, cpu: 1 }), { settings }).headline).not.toContain('TOO NOISY')
  })
})
