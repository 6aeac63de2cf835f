import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { computeServerDelta, parsePrometheusText, scrapeMetrics, seriesKey } from '../../harness/engine/server-metrics.ts'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')

describe('parsePrometheusText', () => {
  it('reads samples, labels (escaped, in any order) and types', () => {
    const snapshot = parsePrometheusText(fixture('metrics-before.txt'))
    expect(snapshot.samples.get('process_cpu_user_seconds_total')).toBe(1.25)
    expect(snapshot.samples.get('authbench_tokens_issued_total{type="N"}')).toBe(10)
    expect(
      snapshot.samples.get(
        seriesKey('authbench_weird_total', [
          ['path', 'a "quoted" \\ value'],
          ['x', '1']
        ])
      )
    ).toBe(7)
    expect(snapshot.samples.get('authbench_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="validate",status="200"}')).toBe(100)
    expect(snapshot.types.get('authbench_http_request_duration_seconds')).toBe('histogram')
  })

  it("parses the real target's /metrics", () => {
    const snapshot = parsePrometheusText(fixture('target-metrics.txt'))
    expect(snapshot.samples.get('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(snapshot.samples.size).toBeGreaterThan(50)
  })

  it('reads NaN and Inf in any case, as Prometheus does (prom-client writes "Nan" for a gauge without samples)', () => {
    const snapshot = parsePrometheusText('nodejs_eventloop_lag_mean_seconds Nan\na_gauge +inf\nb_gauge -Inf\nc_gauge NaN\n')
    expect(snapshot.samples.get('nodejs_eventloop_lag_mean_seconds')).toBeNaN()
    expect(snapshot.samples.get('a_gauge')).toBe(Number.POSITIVE_INFINITY)
    expect(snapshot.samples.get('b_gauge')).toBe(Number.NEGATIVE_INFINITY)
    expect(snapshot.samples.get('c_gauge')).toBeNaN()
    expect(() => parsePrometheusText('a_gauge nanx\n')).toThrow(expect.objectContaining({ code: 'AUTHBENCH_ERR_METRICS' }))
  })

  it('refuses garbage with a coded error', () => {
    expect(() => parsePrometheusText('this is not { metrics')).toThrow(expect.objectContaining({ code: 'AUTHBENCH_ERR_METRICS' }))
  })
})

describe('computeServerDelta', () => {
  const before = parsePrometheusText(fixture('metrics-before.txt'))
  const after = parsePrometheusText(fixture('metrics-after.txt'))

  // Counters as a target declares them: by key, one metric each, optionally only some labels.
  const DECLARED = {
    cacheHits: { metric: 'authbench_cache_hits_total' },
    cacheMisses: { metric: 'authbench_cache_misses_total' },
    batchFlushes: { metric: 'authbench_batch_flushes_total' },
    poolWaits: { metric: 'authbench_pool_waits_total' },
    queueRejections: { metric: 'authbench_queue_rejections_total' },
    issuedNormal: { metric: 'authbench_tokens_issued_total', match: { type: 'N' } },
    issuedOneTime: { metric: 'authbench_tokens_issued_total', match: { type: 'O' } }
  }

  it('computes CPU per request from process_cpu_* and the declared counters by key; missing ones are 0', () => {
    const delta = computeServerDelta(before, after, 1000, DECLARED)
    expect(delta.cpuUserUs).toBe(2_000_000)
    expect(delta.cpuSystemUs).toBe(500_000)
    expect(delta.cpuUsPerRequest).toBe(2500)
    expect(delta.cpuSource).toBe('metrics')
    expect(delta.counters).toEqual({ cacheHits: 900, cacheMisses: 100, batchFlushes: 5, poolWaits: 4, queueRejections: 0, issuedNormal: 15, issuedOneTime: 0 })
  })

  it('has no CPU figure when the endpoint exports no process_cpu_* counters', () => {
    const bare = parsePrometheusText('# TYPE demo_reads_total counter\ndemo_reads_total 5\n')
    const later = parsePrometheusText('# TYPE demo_reads_total counter\ndemo_reads_total 12\n')
    const delta = computeServerDelta(bare, later, 7, { reads: { metric: 'demo_reads_total' } })
    expect(delta).toMatchObject({ cpuUserUs: null, cpuUsPerRequest: null, cpuSource: null, counters: { reads: 7 } })
  })

  it('lists every changed counter and nothing else', () => {
    const { series } = computeServerDelta(before, after, 1000)
    expect(series).toEqual({
      process_cpu_user_seconds_total: 2,
      process_cpu_system_seconds_total: 0.5,
      authbench_cache_hits_total: 900,
      authbench_cache_misses_total: 100,
      authbench_batch_flushes_total: 5,
      authbench_pool_waits_total: 4,
      'authbench_tokens_issued_total{type="N"}': 15,
      'authbench_http_request_duration_seconds_sum{method="POST",route="validate",status="200"}': 0.5,
      'authbench_http_request_duration_seconds_count{method="POST",route="validate",status="200"}': 1000,
      [seriesKey('authbench_weird_total', [
        ['path', 'a "quoted" \\ value'],
        ['x', '1']
      ])]: 2
    })
  })

  it('sums the snapshots of several processes', () => {
    const delta = computeServerDelta([before, before], [after, after], 2000, DECLARED)
    expect(delta.counters.cacheHits).toBe(1800)
    expect(delta.cpuUserUs).toBe(4_000_000)
    expect(delta.cpuUsPerRequest).toBe(2500)
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
