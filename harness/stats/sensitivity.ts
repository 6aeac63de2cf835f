// What a comparison could have seen: for each scenario × metric, the smallest change in the bad
// direction that this run would have called a regression, at the noise this run measured.
//
// Method. A regression verdict needs the whole interval past the margin (and, with the rank-test
// guard, p < alpha). The interval's shape around its estimate is the run's own noise. Had the true
// change been c with that noise, the estimate would sit at c and the interval's near end at the
// same distance from it as measured; the smallest c whose near end clears the margin is the
// detectable change. For a relative metric the shift is multiplicative (B scaled by 1 + c moves
// every per-pair ratio, the median and a bootstrap interval's ends by the same factor, exactly):
//   lower is better:  c = (1 + margin)(1 + estimate) / (1 + low) − 1
//   higher is better: c = 1 − (1 − margin)(1 + estimate) / (1 + high)   (a fall of c)
// For an absolute metric (error rate) it is margin + the near-side half-width. At that change the
// gate says regression about half the time (the estimate falls either side of its true value);
// a change one near-side half-width larger is caught almost always.
//
// When the rank-test guard is on and the trials given cannot reach p < alpha at all (the exact
// tests' smallest p is 2/2^n paired and 2/C(m+n, m) unpaired), no change is detectable.
import type { ChangeKind } from './stats.ts'
import type { Sensitivity } from '../types.ts'

export interface SensitivityInput {
  changeKind: ChangeKind
  better: 'higher' | 'lower'
  margin: number
  estimate: number | null
  interval: { low: number; high: number } | null
  /** The smallest p the rank test can give with these trials; null when the guard is off. */
  attainablePValue: number | null
  alpha: number
}

export type { Sensitivity } from '../types.ts'

/** Smallest two-sided p of the exact Wilcoxon signed-rank test with n non-zero differences. */
export function signedRankMinP(n: number): number {
  return n <= 0 ? 1 : Math.min(1, 2 / 2 ** n)
}

/** Smallest two-sided p of the exact Mann-Whitney U test with samples of m and n. */
export function mannWhitneyMinP(m: number, n: number): number {
  if (m <= 0 || n <= 0) return 1
  // C(m + n, m) by a running product, exact enough for the sizes a benchmark has.
  let orderings = 1
  for (let k = 1; k <= m; k++) orderings = (orderings * (n + k)) / k
  return Math.min(1, 2 / orderings)
}

/** The fewest pairs with which the exact signed-rank test can reach p < alpha (6 for 0.05). */
export function minPairsFor(alpha: number): number {
  let n = 1
  while (signedRankMinP(n) >= alpha && n < 64) n++
  return n
}

export function sensitivityOf(input: SensitivityInput): Sensitivity {
  const { interval, estimate, margin } = input
  if (interval === null || estimate === null || !Number.isFinite(interval.low) || !Number.isFinite(interval.high) || !Number.isFinite(estimate)) {
    return { detectableChange: null, halfWidth: null, tooNoisy: true, note: 'no interval' }
  }
  const halfWidth = input.better === 'lower' ? Math.max(0, estimate - interval.low) : Math.max(0, interval.high - estimate)
  if (input.attainablePValue !== null && input.attainablePValue >= input.alpha) {
    return {
      detectableChange: null,
      halfWidth,
      tooNoisy: true,
      note: `too few trials: the rank test's smallest p here is ${formatP(input.attainablePValue)}, not below ${formatP(input.alpha)}`
    }
  }
  let detectable: number
  if (input.changeKind === 'absolute') detectable = margin + halfWidth
  else if (input.better === 'lower') detectable = ((1 + margin) * (1 + estimate)) / (1 + interval.low) - 1
  else detectable = 1 - ((1 - margin) * (1 + estimate)) / (1 + interval.high)
  if (!Number.isFinite(detectable) || detectable <= 0) {
    // A relative interval reaching −100% (a throughput of 0 in some pair) leaves no finite answer.
    return { detectableChange: null, halfWidth, tooNoisy: true, note: 'the interval reaches −100%' }
  }
  return { detectableChange: detectable, halfWidth, tooNoisy: detectable > 2 * margin }
}

/** A p-value or level for people: three significant figures, no floating-point tails. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a'
  if (p !== 0 && p < 0.001) return p.toExponential(1)
  return String(Number(p.toPrecision(3)))
}

export const SENSITIVITY_METHOD =
  'detectable = the smallest change in the bad direction this run would have called a regression at the noise it measured: the interval moved to that change (multiplicatively for relative metrics) has its near end on the margin; half the time a change that size is called, one near-side half-width more almost always. "Too noisy" when it exceeds twice the margin.'
