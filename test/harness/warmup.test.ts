import { describe, expect, it } from 'vitest'
import { isSteady } from '../../harness/engine/warmup.ts'

// Per-chunk CPU µs/req of fresh reference targets (token, 500 ms chunks), read with
// scripts/noise-components.ts' helpers on the 2-core VM: a flat start, the fall, then steady.
const SOLO = [899, 881, 891, 415, 266, 219, 187, 238, 260, 226, 200, 274]

/** The chunk count at which a warm-up under this rule ends, or null if it never does. */
function endsAt(costs: readonly number[], tolerance = 0.1): number | null {
  for (let n = 1; n <= costs.length; n++) if (isSteady(costs.slice(0, n), tolerance)) return n
  return null
}

describe('warm-up steadiness', () => {
  it('is not steady on the flat start nor while the cost falls, and is once it stops falling', () => {
    const n = endsAt(SOLO)
    expect(n).not.toBeNull()
    // Not before the fall to ~200-270 µs has happened (chunks 5-7), and not long after.
    expect(n as number).toBeGreaterThanOrEqual(7)
    expect(n as number).toBeLessThanOrEqual(10)
    for (const c of SOLO.slice((n as number) - 2, n as number)) expect(c).toBeLessThan(300)
  })

  it('does not end on a flat start that lasts four chunks', () => {
    const costs = [900, 890, 905, 895, 420, 260, 230, 240, 235, 238]
    const n = endsAt(costs) as number
    expect(n).toBeGreaterThan(6)
    expect(costs[n - 1]).toBeLessThan(300)
  })

  it('a target warm from the start is steady after five chunks', () => {
    expect(endsAt([100, 104, 98, 101, 99, 103, 100])).toBe(5)
  })

  it('chunk noise within the tolerance does not keep it warming', () => {
    expect(endsAt([250, 230, 270, 240, 260, 235, 255, 245])).toBe(5)
  })

  it('never steady with fewer than five chunks or with unreadable costs', () => {
    expect(isSteady([100, 100, 100, 100], 0.1)).toBe(false)
    expect(isSteady([Number.NaN, 100, 100, 100, 100], 0.1)).toBe(false)
  })
})
