// The order of an interleaved A/B run: pairs of trials in randomised ABBA / BAAB blocks.
//
// Why blocks and not plain alternation: with ABAB…, B always runs second in its pair, so a steady
// drift of the machine (thermal, a neighbour ramping up) biases every pair the same way. In an
// ABBA block the first pair is A→B and the second B→A, so a linear drift cancels within the
// block; choosing ABBA or BAAB at random (seeded) keeps any periodic pattern of the machine from
// lining up with the arms. Pairs are adjacent trials, so slow drift hits both members alike and
// the per-pair ratio B/A sees through it.
//
// Rounds go over scenarios (round 1: a block of every scenario, round 2: …), so a noisy spell of
// the machine spoils a few pairs of each scenario rather than every pair of one. Pure and
// deterministic: the same options give the same plan.
import { createRng } from './stats.ts'

export type Arm = 'A' | 'B'

export interface ABPlanOptions {
  scenarios: readonly string[]
  /** Complete A/B pairs per scenario. */
  pairs: number
  seed: number
}

export interface ABStep {
  /** 0-based position in the run. */
  index: number
  scenario: string
  arm: Arm
  /** 0-based pair index within the scenario. */
  pair: number
  /** 0-based index of this trial among the scenario's trials (both arms), in run order. */
  trial: number
  /** 0-based block index within the scenario; a block is two pairs (one when `pairs` is odd, last block). */
  block: number
  /** The block's pattern: 'ABBA', 'BAAB', or for a trailing single pair 'AB' / 'BA'. */
  pattern: 'ABBA' | 'BAAB' | 'AB' | 'BA'
}

export function planAB(options: ABPlanOptions): ABStep[] {
  const { scenarios, pairs, seed } = options
  if (!Number.isInteger(pairs) || pairs < 1) throw new RangeError(`pairs must be a positive integer; got ${pairs}`)
  if (scenarios.length === 0) throw new RangeError('an A/B plan needs at least one scenario')
  if (new Set(scenarios).size !== scenarios.length) throw new RangeError(`scenarios repeat: ${scenarios.join(', ')}`)
  const rng = createRng(seed)
  const blocks = Math.ceil(pairs / 2)
  const steps: ABStep[] = []
  const trialOf = new Map<string, number>(scenarios.map((s) => [s, 0]))
  for (let block = 0; block < blocks; block++) {
    for (const scenario of scenarios) {
      const firstPair = block * 2
      const full = firstPair + 1 < pairs
      // One draw per block and scenario, in a fixed order, so the plan is a pure function of the seed.
      const aFirst = rng.int(2) === 0
      const pattern: ABStep['pattern'] = full ? (aFirst ? 'ABBA' : 'BAAB') : aFirst ? 'AB' : 'BA'
      for (const [offset, arm] of [...pattern].entries()) {
        const trial = trialOf.get(scenario) as number
        trialOf.set(scenario, trial + 1)
        steps.push({ index: steps.length, scenario, arm: arm as Arm, pair: firstPair + (offset < 2 ? 0 : 1), trial, block, pattern })
      }
    }
  }
  return steps
}
