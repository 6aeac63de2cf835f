// What the auth target contributes to the variants (phases) report: the throughput targets the
// presets are judged against, what each preset turns on, how its reported config reads, and which
// server-side readings explain a step between presets. The harness renders all of it generically.
import type { VariantStepContext, VariantsReportData } from '../harness/index.ts'

const pct = (share: number | null): string => (share === null ? '—' : `${(share * 100).toFixed(share < 0.001 && share > 0 ? 3 : 1)}%`)

/** Cache hit rate from the two declared counters (hits and misses per 1k requests). */
function hitRate(counters: VariantStepContext['toCounters']): number | null {
  const hits = counters.cacheHits?.per1kRequests ?? null
  const misses = counters.cacheMisses?.per1kRequests ?? null
  if (hits === null || misses === null || hits + misses === 0) return null
  return hits / (hits + misses)
}

/**
 * A reading is offered only for a mechanism the two presets actually differ in (their reported
 * configs), so phase2 is never "explained" by the pool it shares with phase1.
 */
export function explainAuthStep(ctx: VariantStepContext): string[] {
  const { fromConfig: otherConfig, toConfig: config } = ctx
  const a = ctx.fromCounters
  const b = ctx.toCounters
  const differs = (key: string): boolean => config !== null && otherConfig !== null && config[key] !== otherConfig[key]
  const per1k = (c: typeof a, key: string): number => c[key]?.per1kRequests ?? 0
  const perS = (c: typeof a, key: string): number => c[key]?.perS ?? 0
  const why: string[] = []
  if (differs('dbPoolMax') && per1k(a, 'poolWaits') === 0 && per1k(b, 'poolWaits') === 0) {
    why.push(
      config?.store === 'postgres'
        ? 'pool: no request waited for a database connection under either pool size, so a larger pool had nothing to relieve'
        : 'pool: the embedded store has no connection pool, so pool sizing changes nothing'
    )
  }
  if (differs('batchSize') && perS(b, 'batchFlushes') === 0) why.push('batch writer: it never flushed, since this endpoint issues no tokens')
  else if (differs('batchSize') && config?.store !== 'postgres') why.push('batch writer: an in-memory insert costs little, so batching has little to save')
  if (differs('cache')) {
    const rate = hitRate(b)
    if (rate === null) why.push('cache: it saw no lookups on this path')
    else if (rate < 0.5) why.push(`cache: it mostly missed (${pct(rate)}): each token is looked up about once`)
    else if (config?.store !== 'postgres') why.push(`cache: it hit ${pct(rate)}, but the embedded store it spares is itself an in-memory map`)
  }
  if (per1k(b, 'queueRejections') > 0) why.push('queue: it refused requests with 429; backpressure caps throughput by design')
  else if (differs('queueMaxConcurrent')) why.push('queue: it refused nothing, so it only adds admission work per request')
  if (differs('revocationWorkers') && perS(b, 'revocationsPersisted') === 0) why.push('revocation workers: no revocation went through them on this path')
  const instancesA = typeof otherConfig?.instances === 'number' ? otherConfig.instances : null
  const instancesB = typeof config?.instances === 'number' ? config.instances : null
  if (ctx.to === 'phase3' && instancesB === 1) why.push('instances: phase3 ran one instance here; several need PostgreSQL and a shared cache (the embedded store is per process)')
  else if (instancesA !== null && instancesB !== null && instancesB > instancesA) {
    why.push(
      ctx.targetCpus === null
        ? `instances: ${instancesB} processes on ${ctx.cpuCount} core(s) shared with the load generator: more processes, little more CPU`
        : `instances: ${instancesB} processes shared the target's pinned CPU ${ctx.targetCpus}: more processes, no more CPU`
    )
    const flushesA = perS(a, 'batchFlushes')
    const flushesB = perS(b, 'batchFlushes')
    if (flushesA > 0 && flushesB > flushesA * 1.5)
      why.push(`batch writer: each instance runs its own, so flushes went ${flushesA.toFixed(1)} → ${flushesB.toFixed(1)}/s and each batch carries fewer tokens`)
  }
  return why
}

export const AUTH_REPORT: VariantsReportData = Object.freeze({
  // The five endpoints with a throughput target in `guide.rows`; `mixed` has none.
  scenarios: Object.freeze(['health', 'token', 'ott', 'validate', 'revoke']),
  variantNotes: Object.freeze({
    baseline: 'small pool (4), a synchronous insert per token, no cache, no request queue, revocation on the request path',
    phase1: 'Level 1: pool sized (20) and the token batch writer',
    phase2: 'Level 2: adds the request queue with 429 backpressure and the shared cache',
    phase3: 'Level 3: adds the revocation worker pool and several instances (on PostgreSQL + a shared cache only)'
  }),
  // Throughput targets (health 50k, token 15k, OTT 5k, validate 30k, revoke 30k r/s) and the
  // figures measured before optimising, on another machine: the report compares each endpoint's
  // ratio to health, not absolute r/s, so the figures carry over to this machine.
  guide: Object.freeze({
    reference: 'health',
    source: 'the optimisation guide of the original service (seeds/001)',
    rows: Object.freeze({
      health: { currentRps: 31_000, targetRps: 50_000 },
      token: { currentRps: 8_200, targetRps: 15_000 },
      ott: { currentRps: 1_300, targetRps: 5_000 },
      validate: { currentRps: 18_600, targetRps: 30_000 },
      revoke: { currentRps: 21_200, targetRps: 30_000 }
    })
  }),
  explainStep: explainAuthStep,
  describeConfig: (config: Record<string, unknown>) => {
    const v = (key: string): string => (config[key] === undefined || config[key] === null ? '—' : String(config[key]))
    return {
      store: v('store'),
      cache: v('cache'),
      pool: v('dbPoolMax'),
      'batch writer': config.batchSize === 0 ? 'off (insert per token)' : `${v('batchSize')} / ${v('batchFlushIntervalMs')} ms`,
      'request queue': config.queueMaxConcurrent === 0 ? 'off' : `${v('queueMaxConcurrent')} running, ${v('queueCapacity')} waiting, ${v('queueTimeoutMs')} ms`,
      revocations: config.revocationWorkers === 0 ? 'off (on request path)' : v('revocationWorkers'),
      instances: v('instances')
    }
  }
})
