// When load is due: the level of a ramp at a moment (VUs or a rate), and the arrival times of an
// open-model schedule whose rate is constant or ramps linearly stage by stage (k6's
// ramping-arrival-rate). Pure, so a test can check the schedule exactly.
import type { Stage } from '../../types.ts'

/** The ramp's level `atMs` into the measured window: linear within each stage, from `start`. */
export function levelAt(stages: readonly Stage[], start: number, atMs: number): number {
  let from = start
  let elapsed = 0
  for (const stage of stages) {
    if (atMs < elapsed + stage.durationMs) return from + ((stage.target - from) * (atMs - elapsed)) / stage.durationMs
    elapsed += stage.durationMs
    from = stage.target
  }
  return from
}

/** The stages' total length, ms. */
export function stagesDurationMs(stages: readonly Stage[]): number {
  return stages.reduce((sum, stage) => sum + stage.durationMs, 0)
}

interface Segment {
  startMs: number
  durationMs: number
  fromRate: number
  toRate: number
  /** Arrivals before this segment. */
  before: number
}

/**
 * The open model's arrivals: a warm-up at `startRate`, then the stages (or, with none, `durationMs`
 * at `startRate`). Arrival i is due at the moment the rate's integral reaches i, so the count in
 * any stretch is the integral of the rate over it and no arrival comes twice.
 */
export class ArrivalSchedule {
  readonly #segments: Segment[] = []
  /** Every arrival of the schedule, warm-up included. */
  readonly total: number
  /** The index of the first arrival inside the measured window. */
  readonly firstMeasured: number
  readonly measuredStartMs: number
  readonly endMs: number

  constructor(startRate: number, warmupMs: number, durationMs: number, stages: readonly Stage[] | undefined) {
    const parts = [{ durationMs: warmupMs, target: startRate }, ...(stages === undefined || stages.length === 0 ? [{ durationMs, target: startRate }] : stages)]
    let from = startRate
    let atMs = 0
    let before = 0
    for (const [index, part] of parts.entries()) {
      const fromRate = index === 0 ? startRate : from
      this.#segments.push({ startMs: atMs, durationMs: part.durationMs, fromRate, toRate: part.target, before })
      before += ((fromRate + part.target) / 2) * (part.durationMs / 1000)
      atMs += part.durationMs
      from = part.target
    }
    // Floating error must neither add an arrival at the very end nor lose one.
    this.total = Math.floor(before + 1e-9)
    const warm = this.#segments[0] as Segment
    this.firstMeasured = Math.ceil(((warm.fromRate + warm.toRate) / 2) * (warm.durationMs / 1000) - 1e-9)
    this.measuredStartMs = warmupMs
    this.endMs = atMs
  }

  /** Arrival `index`'s time from the schedule's start, ms. */
  timeOfMs(index: number): number {
    const segments = this.#segments
    let low = 0
    let high = segments.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if ((segments[middle] as Segment).before <= index + 1e-9) low = middle
      else high = middle - 1
    }
    // Skip empty segments (a stage at rate 0) that start at the same count.
    let s = segments[low] as Segment
    while (low + 1 < segments.length && (segments[low + 1] as Segment).before <= index + 1e-9 && s.fromRate + s.toRate === 0) s = segments[++low] as Segment
    const n = index - s.before
    const d = s.durationMs / 1000
    const slope = d > 0 ? (s.toRate - s.fromRate) / d : 0
    // Solve fromRate·t + slope·t²/2 = n for t ≥ 0.
    let t: number
    if (Math.abs(slope) < 1e-12) t = s.fromRate > 0 ? n / s.fromRate : 0
    else t = (-s.fromRate + Math.sqrt(Math.max(0, s.fromRate * s.fromRate + 2 * slope * n))) / slope
    return s.startMs + Math.min(t * 1000, s.durationMs)
  }
}
