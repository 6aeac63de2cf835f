// Latency recording in integer microseconds on HDR histograms (1 µs to 60 s, 3 significant
// digits), serialised as compressed base64 so that trials merge exactly instead of averaging
// percentiles, plus the per-second timeline a trial reports.
//
// Histograms are the plain JS Int32 implementation: the WebAssembly one must be initialised
// asynchronously before first use and is not faster for single recordValue calls (the JS one
// records about 10 M values/s here), and 32-bit bucket counts hold 2^31 samples per bucket.
import * as hdr from 'hdr-histogram-js'
import type { Histogram } from 'hdr-histogram-js'
import { HistogramDecodeError } from '../errors.ts'
import type { LatencySummaryUs, TimelineRow } from '../types.ts'

export type { Histogram } from 'hdr-histogram-js'

export const LOWEST_DISCERNIBLE_US = 1
export const HIGHEST_TRACKABLE_US = 60_000_000
export const SIGNIFICANT_DIGITS = 3

export type HistogramFactory = () => Histogram

/** The one histogram shape every recorder uses, so encoded histograms always merge. */
export const createHistogram: HistogramFactory = () =>
  hdr.build({
    bitBucketSize: 32,
    // A merge target must accept a decoded histogram whatever range it was written with.
    autoResize: true,
    lowestDiscernibleValue: LOWEST_DISCERNIBLE_US,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    useWebAssembly: false
  })

/** Clamps to the histogram's range: a latency over 60 s is reported as 60 s, not lost. */
export function toRecordableUs(latencyUs: number): number {
  if (!Number.isFinite(latencyUs) || latencyUs < LOWEST_DISCERNIBLE_US) return LOWEST_DISCERNIBLE_US
  if (latencyUs > HIGHEST_TRACKABLE_US) return HIGHEST_TRACKABLE_US
  return Math.round(latencyUs)
}

export function summarize(histogram: Histogram): LatencySummaryUs {
  const count = histogram.totalCount
  if (count === 0) {
    return { count: 0, min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 }
  }
  return {
    count,
    min: histogram.getValueAtPercentile(0),
    mean: Math.round(histogram.mean),
    stdev: Math.round(histogram.stdDeviation),
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p95: histogram.getValueAtPercentile(95),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    // The bucket's highest equivalent value, not the exact maximum a live histogram tracks: a
    // decoded or merged histogram only knows buckets, and a summary must not depend on which it is.
    max: histogram.getValueAtPercentile(100)
  }
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram)
}

export function decodeHistogram(encoded: string): Histogram {
  try {
    return hdr.decodeFromCompressedBase64(encoded, 32, false)
  } catch (error) {
    throw new HistogramDecodeError(error)
  }
}

/** Adds histograms (or their encodings) bucket by bucket: the merged percentiles are exact. */
export function mergeHistograms(histograms: ReadonlyArray<Histogram | string>, factory: HistogramFactory = createHistogram): Histogram {
  const merged = factory()
  for (const item of histograms) {
    if (typeof item === 'string') {
      const decoded = decodeHistogram(item)
      merged.add(decoded)
      decoded.destroy()
    } else {
      merged.add(item)
    }
  }
  return merged
}

export function mergeEncoded(encoded: readonly string[]): string {
  const merged = mergeHistograms(encoded)
  const out = encodeHistogram(merged)
  merged.destroy()
  return out
}

export function summarizeEncoded(encoded: string): LatencySummaryUs {
  const histogram = decodeHistogram(encoded)
  const summary = summarize(histogram)
  histogram.destroy()
  return summary
}

export interface RecorderOptions {
  createHistogram?: HistogramFactory
}

/** A trial's latency histogram. */
export class LatencyRecorder {
  readonly #histogram: Histogram

  constructor(options: RecorderOptions = {}) {
    this.#histogram = (options.createHistogram ?? createHistogram)()
  }

  record(latencyUs: number): void {
    this.#histogram.recordValue(toRecordableUs(latencyUs))
  }

  get count(): number {
    return this.#histogram.totalCount
  }

  get histogram(): Histogram {
    return this.#histogram
  }

  summary(): LatencySummaryUs {
    return summarize(this.#histogram)
  }

  encode(): string {
    return encodeHistogram(this.#histogram)
  }

  reset(): void {
    this.#histogram.reset()
  }

  static decode(encoded: string): Histogram {
    return decodeHistogram(encoded)
  }

  static merge(histograms: ReadonlyArray<Histogram | string>): Histogram {
    return mergeHistograms(histograms)
  }
}

/**
 * Per-second rows: requests, errors, p50 and p99 of the responses completed in that second.
 * The driver closes a second on each tick, so a row is "what happened since the last tick".
 */
export class TimelineRecorder {
  readonly #second: Histogram
  readonly #rows: TimelineRow[] = []
  #requests = 0
  #errors = 0

  constructor(options: RecorderOptions = {}) {
    this.#second = (options.createHistogram ?? createHistogram)()
  }

  /** A completed response; `error` when its status was unexpected. */
  response(latencyUs: number, error: boolean): void {
    this.#requests++
    if (error) this.#errors++
    this.#second.recordValue(toRecordableUs(latencyUs))
  }

  /** A failure without a response (timeout, reset): counted as a request and an error. */
  failure(): void {
    this.#requests++
    this.#errors++
  }

  get pendingRequests(): number {
    return this.#requests
  }

  closeSecond(): TimelineRow {
    const row: TimelineRow = {
      second: this.#rows.length,
      requests: this.#requests,
      errors: this.#errors,
      p50Us: this.#second.totalCount === 0 ? 0 : this.#second.getValueAtPercentile(50),
      p99Us: this.#second.totalCount === 0 ? 0 : this.#second.getValueAtPercentile(99)
    }
    this.#rows.push(row)
    this.#requests = 0
    this.#errors = 0
    this.#second.reset()
    return row
  }

  rows(): TimelineRow[] {
    return [...this.#rows]
  }
}
