// The A/B plan: balanced arms, adjacent pairs, ABBA/BAAB blocks chosen by a seed, reproducible.
import { describe, expect, it } from 'vitest'
import { planAB, planVariants } from '../../harness/engine/plan.ts'
import type { ABStep } from '../../harness/engine/plan.ts'

function byScenario(steps: readonly ABStep[], scenario: string): ABStep[] {
  return steps.filter((s) => s.scenario === scenario)
}

describe('planAB', () => {
  it('is balanced: every pair has one A and one B, run back to back within its scenario', () => {
    const steps = planAB({ scenarios: ['health', 'validate'], pairs: 6, seed: 7 })
    expect(steps).toHaveLength(2 * 2 * 6)
    for (const scenario of ['health', 'validate']) {
      const mine = byScenario(steps, scenario)
      expect(mine.filter((s) => s.arm === 'A')).toHaveLength(6)
      expect(mine.filter((s) => s.arm === 'B')).toHaveLength(6)
      expect(mine.map((s) => s.trial)).toEqual([...Array(12).keys()])
      for (let pair = 0; pair < 6; pair++) {
        const members = mine.filter((s) => s.pair === pair)
        expect(members.map((s) => s.arm).sort()).toEqual(['A', 'B'])
        // Adjacent within the scenario's own sequence: drift between them is as small as it gets.
        expect(Math.abs((members[0] as ABStep).trial - (members[1] as ABStep).trial)).toBe(1)
      }
    }
    expect(steps.map((s) => s.index)).toEqual([...Array(steps.length).keys()])
  })

  it('runs blocks as ABBA or BAAB, so each arm goes first in exactly half the pairs of a block', () => {
    const steps = planAB({ scenarios: ['health'], pairs: 8, seed: 3 })
    for (let block = 0; block < 4; block++) {
      const arms = steps
        .filter((s) => s.block === block)
        .map((s) => s.arm)
        .join('')
      expect(['ABBA', 'BAAB']).toContain(arms)
      expect(steps.find((s) => s.block === block)?.pattern).toBe(arms)
    }
  })

  it('ends an odd number of pairs with a single AB or BA pair', () => {
    const steps = planAB({ scenarios: ['health'], pairs: 3, seed: 1 })
    expect(steps).toHaveLength(6)
    const last = steps.filter((s) => s.block === 1)
    expect(last).toHaveLength(2)
    expect(['AB', 'BA']).toContain(last.map((s) => s.arm).join(''))
    expect(last.every((s) => s.pair === 2)).toBe(true)
  })

  it('interleaves scenarios by round: a block of each scenario before the next block of any', () => {
    const steps = planAB({ scenarios: ['a', 'b', 'c'], pairs: 4, seed: 1 })
    expect(steps.map((s) => s.scenario).join('')).toBe('aaaabbbbccccaaaabbbbcccc')
  })

  it('is deterministic for a seed and randomised across seeds', () => {
    const options = { scenarios: ['health', 'token', 'validate'], pairs: 10, seed: 42 }
    expect(planAB(options)).toEqual(planAB(options))
    const patterns = new Set(
      Array.from({ length: 20 }, (_, seed) =>
        planAB({ ...options, seed })
          .map((s) => s.arm)
          .join('')
      )
    )
    expect(patterns.size).toBeGreaterThan(10)
    // Over many blocks neither pattern dominates (a fair coin per block).
    const blocks = planAB({ scenarios: ['health'], pairs: 400, seed: 9 }).filter((s) => s.pair % 2 === 0 && s.arm === 'A')
    const aFirst = blocks.filter((s) => s.pattern === 'ABBA').length
    expect(aFirst / blocks.length).toBeGreaterThan(0.4)
    expect(aFirst / blocks.length).toBeLessThan(0.6)
  })

  it('refuses nonsense', () => {
    expect(() => planAB({ scenarios: ['health'], pairs: 0, seed: 1 })).toThrow(RangeError)
    expect(() => planAB({ scenarios: [], pairs: 2, seed: 1 })).toThrow(/at least one scenario/)
    expect(() => planAB({ scenarios: ['a', 'a'], pairs: 2, seed: 1 })).toThrow(/repeat/)
  })

  it('is the variants plan of two variants: per scenario the same arms in the same order, pairs as rounds', () => {
    const options = { scenarios: ['a', 'b', 'c'], pairs: 5, seed: 11 }
    const ab = planAB(options)
    const rounds = planVariants({ variants: ['B', 'A'], scenarios: options.scenarios, rounds: options.pairs, seed: options.seed })
    for (const scenario of options.scenarios) {
      const mine = ab.filter((s) => s.scenario === scenario).map((s) => [s.arm, s.pair, s.trial, s.block])
      expect(mine).toEqual(rounds.filter((s) => s.scenario === scenario).map((s) => [s.variant, s.round, s.trial, s.block]))
    }
    // A whole block of one scenario runs before the next scenario's.
    expect(ab.slice(0, 4).every((s) => s.scenario === 'a' && s.block === 0)).toBe(true)
    expect(ab.map((s) => s.index)).toEqual(ab.map((_, i) => i))
  })
})
