// Pure, seeded statistics for comparing benchmark runs: medians, MAD, bootstrap confidence
// intervals (BCa by default) on the change between two samples of per-trial values, a paired
// bootstrap over per-pair ratios, and rank tests (Mann-Whitney U, Wilcoxon signed-rank).
//
// Hand-written on purpose: no well-kept npm package computes bootstrap confidence intervals for a
// two-sample or paired statistic (simple-statistics has a permutation test but no bootstrap CI;
// compute-bootstrap has been unmaintained since 2015 and has no BCa). Every function is a pure
// function of its inputs and a seed, so a comparison reproduces bit for bit.
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand'
import type { RandomGenerator } from 'pure-rand'

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** A seeded source of uniform integers and floats (pure-rand's xoroshiro128+ under the hood). */
export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number
  /** Standard normal deviate (Box-Muller); for synthetic data in tests and calibration scripts. */
  normal(): number
}

export function createRng(seed: number): Rng {
  // The unsafe distribution mutates the generator in place: no allocation per draw, which
  // matters at 2,000 resamples × trials × metrics.
  const generator: RandomGenerator = xoroshiro128plus(seed | 0)
  let spareNormal: number | null = null
  const rng: Rng = {
    int: (n) => unsafeUniformIntDistribution(0, n - 1, generator),
    float: () => {
      const high = unsafeUniformIntDistribution(0, 2 ** 27 - 1, generator)
      const low = unsafeUniformIntDistribution(0, 2 ** 26 - 1, generator)
      return (high * 2 ** 26 + low) / 2 ** 53
    },
    normal: () => {
      if (spareNormal !== null) {
        const value = spareNormal
        spareNormal = null
        return value
      }
      let u = 0
      while (u === 0) u = rng.float()
      const v = rng.float()
      const radius = Math.sqrt(-2 * Math.log(u))
      spareNormal = radius * Math.sin(2 * Math.PI * v)
      return radius * Math.cos(2 * Math.PI * v)
    }
  }
  return rng
}

// ---------------------------------------------------------------------------------------------
// Descriptive statistics

/** Linear-interpolation quantile (R type 7) of an ascending array; q in [0, 1]. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const below = Math.floor(position)
  const above = Math.ceil(position)
  const lowValue = sorted[below] as number
  const highValue = sorted[above] as number
  return lowValue + (highValue - lowValue) * (position - below)
}

export function median(values: readonly number[]): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    0.5
  )
}

/**
 * Median absolute deviation. `scale` 1.4826 makes it a consistent estimator of the standard
 * deviation under normality; the default 1 gives the raw MAD.
 */
export function mad(values: readonly number[], scale = 1): number {
  const center = median(values)
  return median(values.map((value) => Math.abs(value - center))) * scale
}

/**
 * Median of `values` where value i counts weights[i] times. Bootstrap resamples are expressed
 * as integer weights (how often each trial was drawn), so the sort happens once, not per resample.
 */
export function weightedMedianOfSorted(sortedValues: readonly number[], weights: readonly number[]): number {
  let total = 0
  for (const weight of weights) total += weight
  if (total === 0) return Number.NaN
  const lowRank = Math.floor((total - 1) / 2)
  const highRank = Math.floor(total / 2)
  let seen = 0
  let lowValue = Number.NaN
  for (let i = 0; i < sortedValues.length; i++) {
    const weight = weights[i] as number
    if (weight === 0) continue
    const value = sortedValues[i] as number
    if (seen <= lowRank && lowRank < seen + weight) lowValue = value
    if (seen <= highRank && highRank < seen + weight) return (lowValue + value) / 2
    seen += weight
  }
  return lowValue
}

/** A statistic of a sample given as multiplicities of its members (bootstrap and jackknife). */
export type WeightedStatistic = (weights: readonly number[]) => number

/** The weighted median of a fixed sample, as a WeightedStatistic. */
export function medianStatistic(values: readonly number[]): WeightedStatistic {
  const order = values.map((_, index) => index).sort((a, b) => (values[a] as number) - (values[b] as number))
  const sorted = order.map((index) => values[index] as number)
  const reordered: number[] = new Array<number>(values.length).fill(0)
  return (weights) => {
    for (let i = 0; i < order.length; i++) reordered[i] = weights[order[i] as number] as number
    return weightedMedianOfSorted(sorted, reordered)
  }
}

// ---------------------------------------------------------------------------------------------
// The normal distribution

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  if (z === Number.POSITIVE_INFINITY) return 1
  if (z === Number.NEGATIVE_INFINITY) return 0
  // erfc by the Chebyshev fit of Numerical Recipes (erfcc), accurate to 1.2e-7 everywhere:
  // ample for p-values and BCa's adjusted levels, and no dependency for one function.
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.5 * x)
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    )
  return z >= 0 ? 1 - erfc / 2 : erfc / 2
}

/** Inverse standard normal CDF (P. J. Acklam's algorithm, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN
  if (p === 0) return Number.NEGATIVE_INFINITY
  if (p === 1) return Number.POSITIVE_INFINITY
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239]
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1]
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416]
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number]
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number]
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number]
  const [d0, d1, d2, d3] = d as [number, number, number, number]
  const pLow = 0.02425
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
  }
  const q = p - 0.5
  const r = q * q
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

export type IntervalMethod = 'bca' | 'percentile'

export interface BootstrapOptions {
  /** Resamples drawn; ≥ 2,000 keeps the Monte Carlo error of a 95% bound well under the margin. */
  resamples?: number
  confidence?: number
  seed?: number
  method?: IntervalMethod
}

export interface BootstrapInterval {
  /** The statistic on the original samples. */
  estimate: number
  low: number
  high: number
  confidence: number
  /** The method actually used: BCa falls back to percentile when its corrections are undefined. */
  method: IntervalMethod
  resamples: number
}

const DEFAULT_RESAMPLES = 2000
const DEFAULT_CONFIDENCE = 0.95
const DEFAULT_SEED = 0x5eed

function drawWeights(rng: Rng, n: number, into: number[]): void {
  into.fill(0)
  for (let i = 0; i < n; i++) {
    const index = rng.int(n)
    into[index] = (into[index] as number) + 1
  }
}

function onesExcept(n: number, skip: number): number[] {
  const weights = new Array<number>(n).fill(1)
  if (skip >= 0) weights[skip] = 0
  return weights
}

/**
 * Turns bootstrap replicates into an interval. BCa (Efron 1987) corrects the percentile interval
 * for bias (z0, from the share of replicates below the estimate) and skewness (acceleration,
 * from jackknife influence values); with only 5 to 20 trials both matter.
 */
function intervalFromReplicates(estimate: number, replicates: number[], jackknifeGroups: number[][], confidence: number, method: IntervalMethod): BootstrapInterval {
  const finite = replicates.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  const alpha = (1 - confidence) / 2
  const base: BootstrapInterval = { estimate, low: Number.NaN, high: Number.NaN, confidence, method: 'percentile', resamples: finite.length }
  if (finite.length === 0 || !Number.isFinite(estimate)) return base
  const percentile = (): BootstrapInterval => ({ ...base, low: quantileSorted(finite, alpha), high: quantileSorted(finite, 1 - alpha) })
  if (method === 'percentile') return percentile()

  let below = 0
  let equal = 0
  for (const value of finite) {
    if (value < estimate) below++
    else if (value === estimate) equal++
  }
  // Counting ties as half keeps z0 at 0 when the replicate distribution is discrete and centred
  // on the estimate, which the median of a few trials often is.
  const z0 = normalQuantile((below + equal / 2) / finite.length)
  if (!Number.isFinite(z0)) return percentile()

  let numerator = 0
  let denominator = 0
  for (const group of jackknifeGroups) {
    const n = group.length
    if (n < 2) continue
    const mean = group.reduce((sum, value) => sum + value, 0) / n
    let cubes = 0
    let squares = 0
    for (const value of group) {
      const influence = (n - 1) * (mean - value)
      cubes += influence ** 3
      squares += influence ** 2
    }
    numerator += cubes / n ** 3
    denominator += squares / n ** 2
  }
  const acceleration = denominator > 0 ? numerator / (6 * denominator ** 1.5) : 0
  if (!Number.isFinite(acceleration)) return percentile()

  const adjusted = (zAlpha: number): number => {
    const shifted = z0 + zAlpha
    return normalCdf(z0 + shifted / (1 - acceleration * shifted))
  }
  const lowLevel = adjusted(normalQuantile(alpha))
  const highLevel = adjusted(normalQuantile(1 - alpha))
  if (!Number.isFinite(lowLevel) || !Number.isFinite(highLevel)) return percentile()
  return { ...base, method: 'bca', low: quantileSorted(finite, lowLevel), high: quantileSorted(finite, highLevel) }
}

/**
 * Unpaired two-sample bootstrap: resamples A and B independently (each with replacement, at its
 * own size) and computes combine(statA, statB). Jackknife groups follow scipy.stats.bootstrap's
 * multi-sample BCa: leave one out of A, then one out of B, and pool the influence moments.
 */
export function bootstrapTwoSample(
  sizeA: number,
  sizeB: number,
  statisticA: WeightedStatistic,
  statisticB: WeightedStatistic,
  combine: (valueA: number, valueB: number) => number,
  options: BootstrapOptions = {}
): BootstrapInterval {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE
  const rng = createRng(options.seed ?? DEFAULT_SEED)
  const allA = onesExcept(sizeA, -1)
  const allB = onesExcept(sizeB, -1)
  const fullA = statisticA(allA)
  const fullB = statisticB(allB)
  const estimate = combine(fullA, fullB)
  const weightsA = new Array<number>(sizeA).fill(0)
  const weightsB = new Array<number>(sizeB).fill(0)
  const replicates: number[] = []
  for (let r = 0; r < resamples; r++) {
    drawWeights(rng, sizeA, weightsA)
    drawWeights(rng, sizeB, weightsB)
    replicates.push(combine(statisticA(weightsA), statisticB(weightsB)))
  }
  const jackknifeA: number[] = []
  for (let i = 0; i < sizeA && sizeA > 1; i++) jackknifeA.push(combine(statisticA(onesExcept(sizeA, i)), fullB))
  const jackknifeB: number[] = []
  for (let i = 0; i < sizeB && sizeB > 1; i++) jackknifeB.push(combine(fullA, statisticB(onesExcept(sizeB, i))))
  return intervalFromReplicates(estimate, replicates, [jackknifeA, jackknifeB], confidence, options.method ?? 'bca')
}

/** One-sample bootstrap (used over pairs of an interleaved A/B run). */
export function bootstrapOneSample(size: number, statistic: WeightedStatistic, options: BootstrapOptions = {}): BootstrapInterval {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE
  const rng = createRng(options.seed ?? DEFAULT_SEED)
  const estimate = statistic(onesExcept(size, -1))
  const weights = new Array<number>(size).fill(0)
  const replicates: number[] = []
  for (let r = 0; r < resamples; r++) {
    drawWeights(rng, size, weights)
    replicates.push(statistic(weights))
  }
  const jackknife: number[] = []
  for (let i = 0; i < size && size > 1; i++) jackknife.push(statistic(onesExcept(size, i)))
  return intervalFromReplicates(estimate, replicates, [jackknife], confidence, options.method ?? 'bca')
}

/** How a change is expressed: relative (B/A − 1) or absolute (B − A, for rates that may be 0). */
export type ChangeKind = 'relative' | 'absolute'

export function changeOf(kind: ChangeKind): (valueA: number, valueB: number) => number {
  return kind === 'relative' ? (valueA, valueB) => valueB / valueA - 1 : (valueA, valueB) => valueB - valueA
}

/** CI on the change of medians between two unpaired samples of per-trial values. */
export function bootstrapMedianChange(samplesA: readonly number[], samplesB: readonly number[], kind: ChangeKind = 'relative', options: BootstrapOptions = {}): BootstrapInterval {
  return bootstrapTwoSample(samplesA.length, samplesB.length, medianStatistic(samplesA), medianStatistic(samplesB), changeOf(kind), options)
}

/**
 * Paired bootstrap for interleaved A/B: the statistic is the median over pairs of B/A − 1
 * (relative) or B − A (absolute); resampling is over pairs, so drift that hits both members of a
 * pair cancels.
 */
export function bootstrapPairedChange(pairedA: readonly number[], pairedB: readonly number[], kind: ChangeKind = 'relative', options: BootstrapOptions = {}): BootstrapInterval {
  if (pairedA.length !== pairedB.length) throw new RangeError(`paired samples differ in length: ${pairedA.length} vs ${pairedB.length}`)
  const change = changeOf(kind)
  const perPair = pairedA.map((valueA, index) => change(valueA, pairedB[index] as number))
  return bootstrapOneSample(perPair.length, medianStatistic(perPair), options)
}

// ---------------------------------------------------------------------------------------------
// Rank tests

/** Average ranks (1-based) with ties sharing their mid-rank, and the tie-group sizes. */
function rank(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((_, index) => index).sort((a, b) => (values[a] as number) - (values[b] as number))
  const ranks = new Array<number>(values.length).fill(0)
  const tieSizes: number[] = []
  let start = 0
  while (start < order.length) {
    let end = start
    while (end + 1 < order.length && values[order[end + 1] as number] === values[order[start] as number]) end++
    const midRank = (start + end) / 2 + 1
    for (let k = start; k <= end; k++) ranks[order[k] as number] = midRank
    tieSizes.push(end - start + 1)
    start = end + 1
  }
  return { ranks, tieSizes }
}

export interface RankTestResult {
  /** U of sample A (Mann-Whitney) or W+ (Wilcoxon). */
  statistic: number
  /** Two-sided p-value. */
  pValue: number
  method: 'exact' | 'normal'
}

/** Exact null distribution of U for sizes m, n without ties: counts[u] of the C(m+n, m) orderings. */
function mannWhitneyCounts(m: number, n: number): number[] {
  // f(m, n)[u] = f(m−1, n)[u − n] + f(m, n−1)[u]: the largest value belongs to A (it beats all
  // n of B) or to B.
  const table = new Map<string, number[]>()
  const f = (i: number, j: number): number[] => {
    if (i === 0 || j === 0) return [1]
    const key = `${i},${j}`
    const cached = table.get(key)
    if (cached) return cached
    const withA = f(i - 1, j)
    const withB = f(i, j - 1)
    const counts = new Array<number>(i * j + 1).fill(0)
    withA.forEach((count, u) => (counts[u + j] = (counts[u + j] as number) + count))
    withB.forEach((count, u) => (counts[u] = (counts[u] as number) + count))
    table.set(key, counts)
    return counts
  }
  return f(m, n)
}

function twoSidedFromCounts(counts: readonly number[], observed: number): number {
  const total = counts.reduce((sum, count) => sum + count, 0)
  let lower = 0
  let upper = 0
  counts.forEach((count, value) => {
    if (value <= observed + 1e-9) lower += count
    if (value >= observed - 1e-9) upper += count
  })
  return Math.min(1, (2 * Math.min(lower, upper)) / total)
}

/**
 * Mann-Whitney U (two-sided), as benchstat uses: exact for small samples without ties, else the
 * normal approximation with tie and continuity corrections.
 */
export function mannWhitneyU(samplesA: readonly number[], samplesB: readonly number[]): RankTestResult {
  const m = samplesA.length
  const n = samplesB.length
  if (m === 0 || n === 0) return { statistic: Number.NaN, pValue: 1, method: 'normal' }
  const { ranks, tieSizes } = rank([...samplesA, ...samplesB])
  const rankSumA = ranks.slice(0, m).reduce((sum, value) => sum + value, 0)
  const u = rankSumA - (m * (m + 1)) / 2
  const hasTies = tieSizes.some((size) => size > 1)
  if (!hasTies && m <= 20 && n <= 20) return { statistic: u, pValue: twoSidedFromCounts(mannWhitneyCounts(m, n), u), method: 'exact' }
  const total = m + n
  const tieTerm = tieSizes.reduce((sum, t) => sum + (t ** 3 - t), 0) / (total * (total - 1))
  const variance = ((m * n) / 12) * (total + 1 - tieTerm)
  if (variance <= 0) return { statistic: u, pValue: 1, method: 'normal' }
  const z = Math.max(0, Math.abs(u - (m * n) / 2) - 0.5) / Math.sqrt(variance)
  return { statistic: u, pValue: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal' }
}

/**
 * Wilcoxon signed-rank test (two-sided) on paired differences, zeros dropped: the paired
 * counterpart of Mann-Whitney for interleaved A/B. Exact for n ≤ 25 without ties.
 */
export function wilcoxonSignedRank(differences: readonly number[]): RankTestResult {
  const nonZero = differences.filter((value) => value !== 0 && Number.isFinite(value))
  const n = nonZero.length
  if (n === 0) return { statistic: 0, pValue: 1, method: 'exact' }
  const { ranks, tieSizes } = rank(nonZero.map(Math.abs))
  const wPlus = nonZero.reduce((sum, value, index) => (value > 0 ? sum + (ranks[index] as number) : sum), 0)
  const hasTies = tieSizes.some((size) => size > 1)
  if (!hasTies && n <= 25) {
    const maxSum = (n * (n + 1)) / 2
    let counts = new Array<number>(maxSum + 1).fill(0)
    counts[0] = 1
    for (let r = 1; r <= n; r++) {
      const next = [...counts]
      for (let s = 0; s + r <= maxSum; s++) next[s + r] = (next[s + r] as number) + (counts[s] as number)
      counts = next
    }
    return { statistic: wPlus, pValue: twoSidedFromCounts(counts, wPlus), method: 'exact' }
  }
  const mean = (n * (n + 1)) / 4
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieSizes.reduce((sum, t) => sum + (t ** 3 - t), 0) / 48
  if (variance <= 0) return { statistic: wPlus, pValue: 1, method: 'normal' }
  const z = Math.max(0, Math.abs(wPlus - mean) - 0.5) / Math.sqrt(variance)
  return { statistic: wPlus, pValue: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal' }
}
