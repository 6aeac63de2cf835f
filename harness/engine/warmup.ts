// When is a target warm? A fresh Node target costs 3–4× its steady CPU per request for its first
// seconds under load (JIT tiers compiling on threads that share its core, heap growth), and how
// long that lasts depends on the target, the scenario and how much of the core it gets: on the
// 2-core VM the reference target's `token` took ~2 s alone and ~4.5 s with a second target on
// the same core (scripts/noise-components.ts measures it). A fixed warm-up is either too short for
// some target, so the measured window still holds warm-up cost (which also dilutes a regression:
// +13 µs on a 450 µs warming request is +3%, on the steady 250 µs it is +5%), or too long for
// every other. So the warm-up runs its minimum, then continues in chunks until the cost per
// request stops falling, up to a maximum, the way JMH runs warm-up iterations until steady.

/** How the warm-up decides that the target is steady. */
export interface WarmupRule {
  /** Length of one warm-up chunk, ms; the cost per request is read per chunk. */
  chunkMs: number
  /** Steady when the cost of the last two chunks is no more than this share below that of the two before. */
  tolerance: number
  /** Warm-up never runs longer than this in all (the minimum included), ms. */
  maxMs: number
}

export const DEFAULT_WARMUP_RULE: Readonly<WarmupRule> = Object.freeze({ chunkMs: 500, tolerance: 0.1, maxMs: 10_000 })

/**
 * Whether a series of per-chunk costs (CPU µs per request, or wall µs per request when the
 * target's CPU cannot be read; lower is cheaper) has stopped falling: the mean of the last two
 * chunks is no more than `tolerance` below the mean of the two before them. Pairs, not single
 * chunks: one 500 ms chunk moves ±8% on a shared VM, which would end the warm-up on a lucky
 * chunk half-way down the curve, or never end it after an unlucky cheap one. And twice in a row:
 * a fresh Node target's cost is flat for its first 1–2 s (interpreted, before the JIT's
 * optimised code arrives) and only then falls, so one "not falling" check at that plateau is not
 * enough. A target that is warm from the start is steady after five chunks.
 */
export function isSteady(costs: readonly number[], tolerance: number): boolean {
  return notFalling(costs, tolerance) && notFalling(costs.slice(0, -1), tolerance)
}

function notFalling(costs: readonly number[], tolerance: number): boolean {
  const n = costs.length
  if (n < 4) return false
  const recent = ((costs[n - 1] as number) + (costs[n - 2] as number)) / 2
  const before = ((costs[n - 3] as number) + (costs[n - 4] as number)) / 2
  if (!(Number.isFinite(recent) && Number.isFinite(before) && recent > 0 && before > 0)) return false
  return recent >= before * (1 - tolerance)
}
