// The stopping rule of `ab --budget`: a group-sequential design with alpha spending, so that
// looking at the verdict after every round of pairs and stopping when it is decided does not
// raise the false-alarm rate above the one stated.
//
// Design. A scenario is judged at looks k = 1, 2, … : look 1 after the first round of pairs (n₁,
// the --trials value), each later look after `stepPairs` more. Look k runs the ordinary paired
// decision (BCa interval past the margin and Wilcoxon signed-rank p < α_k) at level α_k, where
//   α₁ = 0.7 α,   α_k = 0.3 α · 2^−(k−1)  (k ≥ 2),   Σ α_k = α.
// By the union bound, P(any look calls a change | no change) ≤ Σ α_k = α whatever the number of
// looks and whenever the sampling stops, so the design needs no maximum number of looks fixed in
// advance (the budget decides it). This is the Bonferroni form of alpha spending: conservative
// next to boundaries computed from the joint distribution of the looks (Lan-DeMets), but valid
// for this non-normal, rank-guarded decision, for which those boundaries are not known.
//
// The split keeps every look reachable by the exact signed-rank test (smallest p 2/2ⁿ): with
// α = 0.05, look 1 at 6 pairs needs p < 0.035 (reachable: 0.031), look 2 at 9 pairs p < 0.0075
// (0.0039), and each later look gains 3 pairs (×1/8 on the smallest p) while α_k halves.
import { bootstrapOneSample, medianStatistic, wilcoxonSignedRank } from './stats.ts'
import type { Rng } from './stats.ts'
import { minPairsFor, signedRankMinP } from './sensitivity.ts'
import { decideVerdict } from './verdict.ts'
import type { Verdict } from '../types.ts'

export const SEQUENTIAL_DESIGN = Object.freeze({
  /** Share of alpha spent at the first look. */
  firstLookShare: 0.7,
  /** Pairs added to a scenario between two looks. */
  stepPairs: 3
})

/** The level of look k (1-based) for an overall false-alarm rate alpha. */
export function lookAlpha(alpha: number, look: number): number {
  if (!Number.isInteger(look) || look < 1) throw new RangeError(`look must be a positive integer; got ${look}`)
  if (look === 1) return SEQUENTIAL_DESIGN.firstLookShare * alpha
  return (1 - SEQUENTIAL_DESIGN.firstLookShare) * alpha * 2 ** -(look - 1)
}

/** Pairs a scenario has at look k, given n₁ in the first round. */
export function pairsAtLook(firstPairs: number, look: number): number {
  return firstPairs + (look - 1) * SEQUENTIAL_DESIGN.stepPairs
}

/** The fewest first-round pairs for which every look can reach its level (6 at alpha 0.05). */
export function minFirstPairs(alpha: number): number {
  let n = minPairsFor(lookAlpha(alpha, 1))
  // Later looks gain stepPairs each; check a long run of looks for the chosen n₁.
  while ([...Array(30).keys()].some((i) => signedRankMinP(pairsAtLook(n, i + 1)) >= lookAlpha(alpha, i + 1)) && n < 64) n++
  return n
}

/** Whether a scenario's gated verdicts at a look settle it: nothing inconclusive, or a regression. */
export function isDecided(verdicts: readonly Verdict[]): boolean {
  if (verdicts.includes('regression') || verdicts.includes('invalid')) return true
  return !verdicts.includes('inconclusive')
}

export const SEQUENTIAL_METHOD = `group-sequential, alpha spending by the union bound: look 1 at level ${SEQUENTIAL_DESIGN.firstLookShare}·α, look k ≥ 2 at ${(1 - SEQUENTIAL_DESIGN.firstLookShare).toFixed(1)}·α·2^−(k−1) (summing to α), ${SEQUENTIAL_DESIGN.stepPairs} more pairs per look`

// ---------------------------------------------------------------------------------------------
// Simulation of the rule on synthetic paired data (the tests check its false-alarm rate)

export interface PairedCell {
  margin: number
  better: 'higher' | 'lower'
  alpha: number
  resamples: number
  seed: number
}

/**
 * The paired decision that compareAB makes for one relative metric, on per-pair ratios B/A: the
 * median per-pair change with a BCa interval over pairs at confidence 1 − alpha, and the
 * signed-rank test on log ratios.
 */
export function judgeRatios(ratios: readonly number[], cell: PairedCell): Verdict {
  const changes = ratios.map((r) => r - 1)
  const interval = bootstrapOneSample(changes.length, medianStatistic(changes), { resamples: cell.resamples, confidence: 1 - cell.alpha, seed: cell.seed, method: 'bca' })
  const logs = ratios.map((r) => Math.log(r))
  const finite = Number.isFinite(interval.low) && Number.isFinite(interval.high)
  return decideVerdict({
    interval: finite ? { low: interval.low, high: interval.high } : null,
    margin: cell.margin,
    better: cell.better,
    pValue: wilcoxonSignedRank(logs).pValue,
    alpha: cell.alpha,
    requireSignificance: true,
    attainablePValue: signedRankMinP(ratios.length)
  }).verdict
}

export interface SimulatedGate {
  verdict: Verdict
  looks: number
  pairs: number
}

/**
 * One simulated gate: pairs drawn by `draw` (a per-pair ratio B/A), judged at each look with its
 * level from `levelAt` (the sequential design, or a fixed level for naive peeking), stopping at the
 * first decided look or after `maxLooks`.
 */
export function simulateGate(
  draw: (rng: Rng) => number,
  rng: Rng,
  options: { firstPairs: number; maxLooks: number; margin: number; alpha: number; levelAt: (look: number) => number; resamples: number }
): SimulatedGate {
  const ratios: number[] = []
  let verdict: Verdict = 'inconclusive'
  let look = 0
  while (look < options.maxLooks) {
    look++
    const target = pairsAtLook(options.firstPairs, look)
    while (ratios.length < target) ratios.push(draw(rng))
    verdict = judgeRatios(ratios, { margin: options.margin, better: 'lower', alpha: options.levelAt(look), resamples: options.resamples, seed: rng.int(2 ** 31) })
    if (isDecided([verdict])) break
  }
  return { verdict, looks: look, pairs: ratios.length }
}
