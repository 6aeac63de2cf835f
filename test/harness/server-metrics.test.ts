import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { computeServerDelta, parsePrometheusText, scrapeMetrics, seriesKey } from '../../harness/server-metrics.ts'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')

describe('parsePrometheusText', () => {
  it('reads samples, labels (escaped, in any order) and types', () => {
    const snapshot = parsePrometheusText(fixture('metrics-before.txt'))
    expect(snapshot.samples.get('process_cpu_user_seconds_total')).toBe(1.25)
    expect(snapshot.samples.get('authbench_tokens_issued_total{type="N"}')).toBe(10)
    expect(snapshot.samples.get(seriesKey('authbench_weird_total', [['path', 'a "quoted" \\ value'], ['x', '1']]))).toBe(7)
    expect(snapshot.samples.get('authbench_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="validate",status="200"}')).toBe(100)
    expect(snapshot.types.get('authbench_http_request_duration_seconds')).toBe('histogram')
  })

  it("parses the real target's /metrics", () => {
    const snapshot = parsePrometheusText(fixture('target-metrics.txt'))
    expect(snapshot.samples.get('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(snapshot.samples.size).toBeGreaterThan(50)
  })

  it('refuses garbage with a coded error', () => {
    expect(() => parsePrometheusText('this is not { metrics')).toThrow(expect.objectContaining({ code: 'AUTHBENCH_ERR_METRICS' }))
  })
})

describe('computeServerDelta', () => {
  const before = parsePrometheusText(fixture('metrics-before.txt'))
  const after = parsePrometheusText(fixture('metrics-after.txt'))

  it('computes CPU per request, cache hit rate and the named counters; missing ones are 0', () => {
    const delta = computeServerDelta(before, after, 1000)
    expect(delta.cpuUserUs).toBe(2_000_000)
    expect(delta.cpuSystemUs).toBe(500_000)
    expect(delta.cpuUsPerRequest).toBe(2500)
    expect(delta.cacheHits).toBe(900)
    expect(delta.cacheMisses).toBe(100)
    expect(delta.cacheHitRate).toBeCloseTo(0.9, 10)
    expect(delta.batchFlushes).toBe(5)
    expect(delta.poolWaits).toBe(4)
    expect(delta.queueRejections).toBe(0)
  })

  it('lists every changed counter and nothing else', () => {
    const { counters } = computeServerDelta(before, after, 1000)
    expect(counters).toEqual({
      process_cpu_user_seconds_total: 2,
      process_cpu_system_seconds_total: 0.5,
      authbench_cache_hits_total: 900,
      authbench_cache_misses_total: 100,
      authbench_batch_flushes_total: 5,
      authbench_pool_waits_total: 4,
      'authbench_tokens_issued_total{type="N"}': 15,
      'authbench_http_request_duration_seconds_sum{method="POST",route="validate",status="200"}': 0.5,
      'authbench_http_request_duration_seconds_count{method="POST",route="validate",status="200"}': 1000,
      [seriesKey('authbench_weird_total', [['path', 'a "quoted" \\ value'], ['x', '1']])]: 2
    })
  })

  it('sums the snapshots of several processes', () => {
    const delta = computeServerDelta([before, before], [after, after], 2000)
    expect(delta.cpuUserUs).toBe(4_000_000)
    expect(delta.cpuUsPerRequest).toBe(2500)
    expect(delta.cacheHitRate).toBeCloseTo(0.9, 10)
  })

  it('has no CPU per request without completed requests, and counts a restarted counter from zero', () => {
    const delta = computeServerDelta(after, before, 0)
    expect(delta.cpuUsPerRequest).toBeNull()
    expect(delta.cpuUserUs).toBe(1_250_000)
  })
})

describe('scrapeMetrics', () => {
  it('GETs /metrics over loopback and parses it', async () => {
    const text = fixture('metrics-after.txt')
    const server = createServer((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text)
      else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const snapshot = await scrapeMetrics(`http://127.0.0.1:${port}`)
      expect(snapshot.samples.get('authbench_pool_waits_total')).toBe(4)
      await expect(scrapeMetrics(`http://127.0.0.1:${port}`, { path: '/nope' })).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_METRICS' })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
