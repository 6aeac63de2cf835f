// The statistics on synthetic data with known effects and fixed seeds: intervals cover the truth,
// rank tests match textbook values, and verdicts come out right for clear regression,
// improvement, no change and pure noise.
import { describe, expect, it } from 'vitest'
import {
  bootstrapMedianChange,
  bootstrapPairedChange,
  createRng,
  mad,
  mannWhitneyU,
  median,
  normalCdf,
  normalQuantile,
  quantileSorted,
  wilcoxonSignedRank
} from '../../harness/stats/stats.ts'
import type { Rng } from '../../harness/stats/stats.ts'
import { DEFAULT_COMPARE_SETTINGS, decideVerdict } from '../../harness/stats/verdict.ts'

function sample(rng: Rng, n: number, center: number, sd: number): number[] {
  return Array.from({ length: n }, () => center + sd * rng.normal())
}

/** The verdict the gate gives a latency-like metric (lower is better) for two samples. */
function latencyVerdict(a: number[], b: number[], margin = 0.05, seed = 7): string {
  const interval = bootstrapMedianChange(a, b, 'relative', { seed })
  return decideVerdict({ interval, margin, better: 'lower', pValue: mannWhitneyU(a, b).pValue, alpha: 0.05, requireSignificance: true }).verdict
}

describe('descriptive statistics', () => {
  it('median, quantiles and MAD', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(quantileSorted([1, 2, 3, 4, 5], 0.25)).toBe(2)
    expect(mad([1, 2, 3, 4, 100])).toBe(1)
    expect(mad([1, 2, 3, 4, 100], 1.4826)).toBeCloseTo(1.4826)
  })

  it('normal distribution functions agree with each other and with tables', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    for (const p of [0.001, 0.02, 0.3, 0.5, 0.9, 0.999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6)
  })

  it('the PRNG is reproducible for a seed and differs across seeds', () => {
    const draw = (seed: number): number[] => {
      const rng = createRng(seed)
      return [rng.int(1000), rng.float(), rng.normal()]
    }
    expect(draw(42)).toEqual(draw(42))
    expect(draw(42)).not.toEqual(draw(43))
    const rng = createRng(1)
    const floats = Array.from({ length: 10_000 }, () => rng.float())
    expect(Math.min(...floats)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...floats)).toBeLessThan(1)
    expect(floats.reduce((s, v) => s + v, 0) / floats.length).toBeCloseTo(0.5, 1)
  })
})

describe('rank tests', () => {
  it('Mann-Whitney U: exact p for fully separated samples (2/C(10,5)) and 1 for identical ones', () => {
    const separated = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    expect(separated.method).toBe('exact')
    expect(separated.statistic).toBe(0)
    expect(separated.pValue).toBeCloseTo(2 / 252, 10)
    expect(mannWhitneyU([1, 2, 3], [1, 2, 3]).pValue).toBe(1)
  })

  it('Mann-Whitney U: normal approximation with ties is close to the exact answer', () => {
    // By hand: U = 5, mean 18, variance 36/12 · (13 − 42/132) = 38.045, z = (13 − 0.5)/6.168
    // = 2.027, p = 2 · (1 − Φ(2.027)) = 0.0427 (scipy's asymptotic method with continuity).
    const result = mannWhitneyU([1, 2, 2, 3, 4, 5], [3, 4, 5, 5, 6, 7])
    expect(result.method).toBe('normal')
    expect(result.pValue).toBeCloseTo(0.0427, 3)
  })

  it('Wilcoxon signed-rank: exact p for all-positive differences (2/2^n)', () => {
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5, 6]).pValue).toBeCloseTo(2 / 64, 10)
    expect(wilcoxonSignedRank([1, -2, 3, -4]).pValue).toBeCloseTo(0.875, 10)
    expect(wilcoxonSignedRank([0, 0]).pValue).toBe(1)
  })
})

describe('bootstrap intervals', () => {
  it('covers a known +10% change of medians and excludes 0, reproducibly', () => {
    const rng = createRng(11)
    const a = sample(rng, 10, 1000, 20)
    const b = sample(rng, 10, 1100, 22)
    const interval = bootstrapMedianChange(a, b, 'relative', { seed: 3 })
    expect(interval.method).toBe('bca')
    expect(interval.resamples).toBe(2000)
    expect(interval.low).toBeLessThan(0.1)
    expect(interval.high).toBeGreaterThan(0.1)
    expect(interval.low).toBeGreaterThan(0)
    expect(bootstrapMedianChange(a, b, 'relative', { seed: 3 })).toEqual(interval)
  })

  it('absolute change (error rates) works from a baseline of 0', () => {
    const interval = bootstrapMedianChange([0, 0, 0, 0, 0], [0.02, 0.021, 0.019, 0.02, 0.022], 'absolute', { seed: 1 })
    expect(interval.estimate).toBeCloseTo(0.02)
    expect(interval.low).toBeGreaterThan(0.015)
  })

  it('95% intervals cover the true change in most of 200 repetitions (empirical coverage)', () => {
    const rng = createRng(2024)
    let covered = 0
    const repetitions = 200
    for (let r = 0; r < repetitions; r++) {
      const a = sample(rng, 8, 1000, 30)
      const b = sample(rng, 8, 1100, 33)
      const interval = bootstrapMedianChange(a, b, 'relative', { seed: r, resamples: 400 })
      if (interval.low <= 0.1 && 0.1 <= interval.high) covered++
    }
    // Bootstrap intervals for the median of 8 trials run somewhat narrow; the gate's margins and
    // the rank-test guard absorb that. Below 85% would be a bug, not a property.
    expect(covered / repetitions).toBeGreaterThan(0.85)
  })

  it('the paired interval cancels drift that the unpaired one cannot', () => {
    const rng = createRng(5)
    const pairs = 8
    const a: number[] = []
    const b: number[] = []
    for (let i = 0; i < pairs; i++) {
      const drift = Math.exp(0.15 * rng.normal())
      a.push(1000 * drift * (1 + 0.01 * rng.normal()))
      b.push(1100 * drift * (1 + 0.01 * rng.normal()))
    }
    const paired = bootstrapPairedChange(a, b, 'relative', { seed: 9 })
    const unpaired = bootstrapMedianChange(a, b, 'relative', { seed: 9 })
    expect(paired.low).toBeLessThan(0.1)
    expect(paired.high).toBeGreaterThan(0.1)
    expect(paired.high - paired.low).toBeLessThan((unpaired.high - unpaired.low) / 3)
    expect(() => bootstrapPairedChange([1], [1, 2])).toThrow(RangeError)
  })
})

describe('verdicts from synthetic samples', () => {
  const rng = createRng(77)
  const base = (): number[] => sample(rng, 10, 1000, 15)

  it('clear regression: +30% latency', () => {
    expect(latencyVerdict(base(), sample(rng, 10, 1300, 20))).toBe('regression')
  })

  it('clear improvement: −30% latency', () => {
    expect(latencyVerdict(base(), sample(rng, 10, 700, 10))).toBe('improvement')
  })

  it('no change: the same distribution, tight enough to bound the change within ±5%', () => {
    expect(latencyVerdict(base(), base())).toBe('no-change')
  })

  it('pure noise: a wide spread never reads as a regression or an improvement', () => {
    const verdicts = Array.from({ length: 20 }, (_, i) => latencyVerdict(sample(rng, 5, 1000, 150), sample(rng, 5, 1000, 150), 0.05, i))
    expect(verdicts.filter((v) => v === 'regression' || v === 'improvement').length).toBeLessThanOrEqual(1)
    expect(verdicts).toContain('inconclusive')
  })

  it('the interval past the margin without rank-test significance is inconclusive', () => {
    const decision = decideVerdict({ interval: { low: 0.2, high: 0.3 }, margin: 0.05, better: 'lower', pValue: 0.1, alpha: 0.05, requireSignificance: true })
    expect(decision.verdict).toBe('inconclusive')
    expect(decision.note).toMatch(/rank test/)
  })

  it('direction: higher-is-better metrics mirror lower-is-better ones', () => {
    const interval = { low: -0.3, high: -0.2 }
    expect(decideVerdict({ interval, margin: 0.05, better: 'higher', pValue: 0.01, alpha: 0.05, requireSignificance: true }).verdict).toBe('regression')
    expect(decideVerdict({ interval, margin: 0.05, better: 'lower', pValue: 0.01, alpha: 0.05, requireSignificance: true }).verdict).toBe('improvement')
    expect(decideVerdict({ interval: { low: -0.01, high: 0.08 }, margin: 0.05, better: 'lower', pValue: 0.5, alpha: 0.05, requireSignificance: true }).verdict).toBe('inconclusive')
    expect(decideVerdict({ interval: null, margin: 0.05, better: 'lower', pValue: null, alpha: 0.05, requireSignificance: true }).verdict).toBe('invalid')
  })

  it('defaults are frozen in one object', () => {
    expect(Object.isFrozen(DEFAULT_COMPARE_SETTINGS)).toBe(true)
    expect(Object.isFrozen(DEFAULT_COMPARE_SETTINGS.margins)).toBe(true)
  })
})
