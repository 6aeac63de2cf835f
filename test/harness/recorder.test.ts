import { describe, expect, it } from 'vitest'
import {
  LatencyRecorder,
  TimelineRecorder,
  createHistogram,
  decodeHistogram,
  mergeEncoded,
  mergeHistograms,
  summarize,
  summarizeEncoded,
  toRecordableUs
} from '../../harness/stats/recorder.ts'

function valuesA(): number[] {
  const out: number[] = []
  for (let i = 0; i < 5000; i++) out.push(100 + ((i * 7919) % 4000))
  return out
}
function valuesB(): number[] {
  const out: number[] = []
  for (let i = 0; i < 3000; i++) out.push(123_457 + ((i * 104729) % 250_000))
  out.push(45_000_000)
  return out
}

describe('LatencyRecorder', () => {
  it('records 0.3 ms as 300 µs', () => {
    const recorder = new LatencyRecorder()
    const latencyMs = 0.3
    for (let i = 0; i < 10; i++) recorder.record(latencyMs * 1000)
    const summary = recorder.summary()
    expect(summary.count).toBe(10)
    expect(summary.p50).toBe(300)
    expect(summary.min).toBe(300)
    expect(summary.max).toBe(300)
    expect(summary.mean).toBe(300)
  })

  it('reports every percentile the result file needs, within 3 significant digits', () => {
    const recorder = new LatencyRecorder()
    for (let v = 1; v <= 10_000; v++) recorder.record(v)
    const s = recorder.summary()
    const near = (actual: number, expected: number): void => {
      expect(Math.abs(actual - expected) / expected).toBeLessThan(0.001 + 1e-9)
    }
    near(s.p50, 5000)
    near(s.p90, 9000)
    near(s.p95, 9500)
    near(s.p99, 9900)
    near(s.p999, 9990)
    expect(s.min).toBe(1)
    near(s.max, 10_000)
    expect(s.count).toBe(10_000)
  })

  it('clamps to the 1 µs .. 60 s range instead of losing a sample', () => {
    expect(toRecordableUs(0)).toBe(1)
    expect(toRecordableUs(0.4)).toBe(1)
    expect(toRecordableUs(299.6)).toBe(300)
    expect(toRecordableUs(120_000_000)).toBe(60_000_000)
    expect(toRecordableUs(Number.NaN)).toBe(1)
  })

  it('summarises an empty histogram as zeros', () => {
    expect(new LatencyRecorder().summary()).toEqual({ count: 0, min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 })
  })

  it('round-trips through compressed base64', () => {
    const recorder = new LatencyRecorder()
    for (const v of valuesB()) recorder.record(v)
    const encoded = recorder.encode()
    expect(encoded).toMatch(/^[A-Za-z0-9+/=]+$/)
    const decoded = decodeHistogram(encoded)
    expect(summarize(decoded)).toEqual(recorder.summary())
    expect(summarizeEncoded(encoded)).toEqual(recorder.summary())
  })

  it('rejects a corrupt encoding with a coded error', () => {
    expect(() => decodeHistogram('not-a-histogram')).toThrow(expect.objectContaining({ code: 'AUTHBENCH_ERR_HISTOGRAM' }))
  })

  it('uses an injected histogram factory', () => {
    let created = 0
    const recorder = new LatencyRecorder({
      createHistogram: () => {
        created++
        return createHistogram()
      }
    })
    recorder.record(5)
    expect(created).toBe(1)
    expect(recorder.count).toBe(1)
  })
})

describe('merging', () => {
  it('a merge of two histograms equals one histogram of all the values', () => {
    const a = new LatencyRecorder()
    const b = new LatencyRecorder()
    const all = new LatencyRecorder()
    for (const v of valuesA()) {
      a.record(v)
      all.record(v)
    }
    for (const v of valuesB()) {
      b.record(v)
      all.record(v)
    }

    const fromEncoded = mergeHistograms([a.encode(), b.encode()])
    const fromLive = mergeHistograms([a.histogram, b.histogram])
    expect(summarize(fromEncoded)).toEqual(all.summary())
    expect(summarize(fromLive)).toEqual(all.summary())
    expect(summarizeEncoded(mergeEncoded([a.encode(), b.encode()]))).toEqual(all.summary())
    for (const p of [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]) {
      expect(fromEncoded.getValueAtPercentile(p)).toBe(all.histogram.getValueAtPercentile(p))
    }
    expect(fromEncoded.totalCount).toBe(valuesA().length + valuesB().length)
  })
})

describe('TimelineRecorder', () => {
  it('closes one row per second with requests, errors, p50 and p99', () => {
    const timeline = new TimelineRecorder()
    for (let i = 0; i < 99; i++) timeline.response(100, false)
    timeline.response(50_000, true)
    timeline.failure()
    const first = timeline.closeSecond()
    expect(first).toEqual({ second: 0, requests: 101, errors: 2, p50Us: 100, p99Us: 100 })
    const second = timeline.closeSecond()
    expect(second).toEqual({ second: 1, requests: 0, errors: 0, p50Us: 0, p99Us: 0 })
    expect(timeline.rows()).toHaveLength(2)
  })
})
