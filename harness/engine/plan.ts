// The order of an interleaved run: rounds of every variant in randomised blocks, for `phases`
// (k variants) and for `ab` (two variants, A and B, whose rounds are called pairs).
//
// Why blocks and not plain alternation: with ABAB…, B always runs second in its pair, so a steady
// drift of the machine (thermal, a neighbour ramping up) biases every pair the same way. A block
// is two rounds: a seeded random permutation of the variants, then the same permutation reversed
// (for two variants ABBA or BAAB), so every variant's mean position in the block is the same and a
// linear drift cancels within the block; a fresh permutation per block and scenario keeps any
// periodic pattern of the machine from lining up with a variant. Rounds are adjacent trials, so
// slow drift hits every member alike and the per-round ratios see through it.
//
// Rounds go over scenarios, so a noisy spell of the machine spoils a few rounds of each scenario
// rather than every round of one. Pure and deterministic: the same options give the same plan.
import { createRng } from '../stats/stats.ts'

export interface VariantStep {
  /** 0-based position in the run. */
  index: number
  round: number
  /** Two rounds make a block: the second runs the first's order reversed. */
  block: number
  scenario: string
  variant: string
  /** 0-based index of this trial among the scenario's trials (all variants), in run order. */
  trial: number
}

export interface VariantPlanOptions {
  variants: readonly string[]
  scenarios: readonly string[]
  rounds: number
  seed: number
}

/** `phases`' order: round by round, each round running every scenario under every variant. */
export function planVariants(options: VariantPlanOptions): VariantStep[] {
  const { variants, scenarios, rounds, seed } = options
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer; got ${rounds}`)
  if (variants.length === 0 || scenarios.length === 0) throw new RangeError('a plan needs at least one variant and one scenario')
  if (new Set(variants).size !== variants.length) throw new RangeError(`variants repeat: ${variants.join(', ')}`)
  if (new Set(scenarios).size !== scenarios.length) throw new RangeError(`scenarios repeat: ${scenarios.join(', ')}`)
  const rng = createRng(seed)
  const steps: VariantStep[] = []
  const trialOf = new Map<string, number>(scenarios.map((s) => [s, 0]))
  const blockOrder = new Map<string, string[]>()
  for (let round = 0; round < rounds; round++) {
    const block = Math.floor(round / 2)
    for (const scenario of scenarios) {
      let order: string[]
      if (round % 2 === 0) {
        // Fisher-Yates with the seeded generator, one shuffle per block and scenario in a fixed order.
        order = [...variants]
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(i + 1)
          ;[order[i], order[j]] = [order[j] as string, order[i] as string]
        }
        blockOrder.set(scenario, order)
      } else {
        order = [...(blockOrder.get(scenario) as string[])].reverse()
      }
      for (const variant of order) {
        const trial = trialOf.get(scenario) as number
        trialOf.set(scenario, trial + 1)
        steps.push({ index: steps.length, round, block, scenario, variant, trial })
      }
    }
  }
  return steps
}

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

/**
 * `ab`'s order: the variants plan of the two arms, with a whole block of a scenario (ABBA or
 * BAAB) run before the next scenario's, since an A/B pair's two trials matter more than a round
 * across scenarios.
 */
export function planAB(options: ABPlanOptions): ABStep[] {
  const { scenarios, pairs, seed } = options
  if (!Number.isInteger(pairs) || pairs < 1) throw new RangeError(`pairs must be a positive integer; got ${pairs}`)
  if (scenarios.length === 0) throw new RangeError('an A/B plan needs at least one scenario')
  // B listed first: the shuffle's first draw then puts A first on 0, as the arms have always been drawn.
  const rounds = planVariants({ variants: ['B', 'A'], scenarios, rounds: pairs, seed })
  const scenarioIndex = new Map(scenarios.map((s, i) => [s, i]))
  const inBlocks = [...rounds].sort((x, y) => x.block - y.block || (scenarioIndex.get(x.scenario) as number) - (scenarioIndex.get(y.scenario) as number) || x.index - y.index)
  const patternOf = new Map<string, ABStep['pattern']>()
  for (const step of inBlocks) {
    const key = `${step.scenario}/${step.block}`
    patternOf.set(key, `${patternOf.get(key) ?? ''}${step.variant}` as ABStep['pattern'])
  }
  return inBlocks.map((step, index) => ({
    index,
    scenario: step.scenario,
    arm: step.variant as Arm,
    pair: step.round,
    trial: step.trial,
    block: step.block,
    pattern: patternOf.get(`${step.scenario}/${step.block}`) as ABStep['pattern']
  }))
}
