// Shared runtime of the k6 scripts: load settings from __ENV, options with both load models and
// the gate's thresholds, one measured request with its check and counters, and setup()'s token
// issuing through the public API. Runs inside k6 only; what it sends comes from ../catalog.ts
// (through ./requests.ts), so nothing here is a second copy of the scenarios.
import { check, sleep } from 'k6'
import exec from 'k6/execution'
import http from 'k6/http'
import type { RefinedResponse } from 'k6/http'
import { Counter, Gauge } from 'k6/metrics'
import type { Options, Scenario } from 'k6/options'
import { BENCH_CLIENT, DEFAULT_LOAD, ENDPOINTS, JSON_HEADERS, credentialsBody } from '../catalog.ts'
import { K6_METRICS, MEASURE_TAG, TREND_STATS } from '../../harness/k6-contract.ts'
import type { K6ScriptName } from './scripts.ts'
import type { K6Request } from './requests.ts'
import { baselineFromEnv, gateThresholds } from './thresholds.ts'

export type LoadModel = 'open' | 'closed'

export interface LoadConfig {
  baseUrl: string
  model: LoadModel
  /** Open model: arrivals (iterations = requests) per second. */
  rateRps: number
  /** Closed model: VUs. Open model: pre-allocated VUs. */
  vus: number
  /** Open model: VUs k6 may add when every pre-allocated one is busy. */
  maxVus: number
  /** A k6 duration string ("5s", "2m"). */
  duration: string
  durationS: number
  /** Live tokens validated round-robin (validate, mixed). */
  validatePoolSize: number
  /**
   * Cap on consumable tokens (revoke, mixed) issued in setup(). k6 copies setup()'s data into
   * every VU (about 300 B per token per VU), hence a lower default than the harness's 100 000.
   */
  maxPoolSize: number
  /** Concurrent requests while seeding (one http.batch). */
  setupConcurrency: number
}

function fail(name: string, raw: string, wanted: string): never {
  throw new Error(`AUTHBENCH_ERR_BAD_OPTION: ${name}="${raw}" ${wanted}`)
}

/** An integer from k6's environment, or `fallback` when unset; out of range, a coded error naming it. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = __ENV[name]
  if (raw === undefined || raw === '') return fallback
  const v = Number(raw)
  if (!Number.isInteger(v) || v < min || v > max) fail(name, raw, `must be an integer from ${min} to ${max}`)
  return v
}

const DURATION_UNITS_S: Readonly<Record<string, number>> = Object.freeze({ ms: 0.001, s: 1, m: 60, h: 3600 })

/** Load settings from k6's environment (`k6 run -e MODEL=open -e RATE=500 ...`). */
export function loadConfig(): LoadConfig {
  const rawModel = __ENV.MODEL ?? 'closed'
  if (rawModel !== 'open' && rawModel !== 'closed') fail('MODEL', rawModel, 'must be "open" (constant-arrival-rate) or "closed" (constant-vus)')
  const model: LoadModel = rawModel
  const duration = __ENV.DURATION ?? `${DEFAULT_LOAD[model].durationMs / 1000}s`
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration)
  if (match === null) fail('DURATION', duration, 'must be a number with a unit: ms, s, m or h (e.g. 30s)')
  const durationS = Number(match[1]) * (DURATION_UNITS_S[match[2] as string] as number)
  const vus = intEnv('VUS', DEFAULT_LOAD[model].connections, 1, 100_000)
  return {
    baseUrl: (__ENV.BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    model,
    rateRps: intEnv('RATE', DEFAULT_LOAD.open.rateRps, 1, 10_000_000),
    vus,
    maxVus: intEnv('MAX_VUS', vus, vus, 100_000),
    duration,
    durationS,
    validatePoolSize: intEnv('POOL_SIZE', 1_000, 1, 1_000_000),
    maxPoolSize: intEnv('MAX_POOL', 20_000, 1, 10_000_000),
    setupConcurrency: intEnv('SETUP_CONCURRENCY', 16, 1, 1_000)
  }
}

/**
 * Consumable tokens to issue for a share of the requests. Open model: the scheduled arrivals
 * plus 10%. Closed model: nobody knows the count in advance, so that share of MAX_POOL; running
 * dry is counted (authbench_pool_exhausted), never hidden.
 */
export function consumablePoolSize(config: LoadConfig, share: number): number {
  const expected = config.model === 'open' ? config.rateRps * config.durationS * share * 1.1 : config.maxPoolSize * share
  // The epsilon keeps 50 × 2 × 1.1 = 110.00000000000001 from asking for a 111th token.
  return Math.max(1, Math.min(Math.ceil(expected - 1e-9), config.maxPoolSize))
}

/** Both load models, the gate's thresholds, and the percentiles the importer needs. */
export function buildOptions(scenario: K6ScriptName, config: LoadConfig): Options {
  const tags = { [MEASURE_TAG.name]: MEASURE_TAG.value }
  const measured: Scenario =
    config.model === 'open'
      ? {
          executor: 'constant-arrival-rate',
          rate: config.rateRps,
          timeUnit: '1s',
          duration: config.duration,
          preAllocatedVUs: config.vus,
          maxVUs: config.maxVus,
          gracefulStop: '5s',
          tags
        }
      : { executor: 'constant-vus', vus: config.vus, duration: config.duration, gracefulStop: '5s', tags }
  return {
    scenarios: { [scenario]: measured },
    thresholds: gateThresholds(baselineFromEnv(__ENV)),
    summaryTrendStats: [...TREND_STATS],
    // Seeding tens of thousands of tokens takes longer than k6's 60 s default.
    setupTimeout: '600s'
  }
}

// Metrics must be created in the init context: every script imports this module there.
const unexpectedStatus = new Counter(K6_METRICS.unexpectedStatus)
const timeouts = new Counter(K6_METRICS.timeouts)
const transportErrors = new Counter(K6_METRICS.transportErrors)
const responseBytes = new Counter(K6_METRICS.responseBytes)
const clockMs = new Gauge(K6_METRICS.clockMs)
const poolExhausted = new Counter(K6_METRICS.poolExhausted)
const seeded = new Counter(K6_METRICS.seeded)
const setupMs = new Counter(K6_METRICS.setupMs)

/** k6's error code for a request that timed out. */
const K6_ERROR_REQUEST_TIMEOUT = 1050

/** Sends one measured request, checks its status against the catalog and counts what went wrong. */
export function send(baseUrl: string, req: K6Request): RefinedResponse<'text'> {
  clockMs.add(Date.now())
  const res = http.request(req.method, baseUrl + req.path, req.body ?? null, { headers: req.headers ?? {}, tags: { name: req.tag }, responseType: 'text' })
  clockMs.add(Date.now())
  const ok = req.expectedStatuses.includes(res.status)
  check(res, { [`${req.tag} status ${req.expectedStatuses.join('|')}`]: () => ok })
  if (!ok) {
    if (res.status !== 0) unexpectedStatus.add(1)
    else if (res.error_code === K6_ERROR_REQUEST_TIMEOUT) timeouts.add(1)
    else transportErrors.add(1)
  }
  if (typeof res.body === 'string') responseBytes.add(res.body.length)
  return res
}

/**
 * One step of a journey: the request as `send` makes it, or null when its status was not
 * expected, and the iteration ends there as the harness's journey driver ends it.
 */
export function sendStep(baseUrl: string, req: K6Request): RefinedResponse<'text'> | null {
  const res = send(baseUrl, req)
  return req.expectedStatuses.includes(res.status) ? res : null
}

/** A validate answer that says the token is valid. */
export function saysValid(res: RefinedResponse<'text'>): boolean {
  try {
    return res.json('valid') === true
  } catch {
    return false
  }
}

/** The `access_token` of a token or OTT response, or null. */
export function accessToken(res: RefinedResponse<'text'>): string | null {
  if (res.status !== 200) return null
  try {
    const token = res.json('access_token')
    return typeof token === 'string' ? token : null
  } catch {
    return null
  }
}

/** Item `index` of a consumable pool; past its end, the last item again, counted as exhausted. */
export function takeAt(pool: readonly string[], index: number): string {
  const item = pool[index]
  if (item !== undefined) return item
  poolExhausted.add(1)
  return pool[pool.length - 1] ?? 'pool-empty'
}

/** The global index of this iteration in the measured scenario (unique across VUs). */
export function iterationIndex(): number {
  return exec.scenario.iterationInTest
}

/**
 * A per-VU index that never collides with another VU's: the VU's n-th pick maps to
 * n × stride + (VU id − 1). Used where only some iterations consume (mixed).
 */
export function stridedIndex(localCount: number, stride: number): number {
  return localCount * stride + (exec.vu.idInTest - 1)
}

const BACKOFF_START_S = 0.005
const BACKOFF_MAX_S = 0.2
const RETRY_BUDGET_MS = 10_000

/**
 * setup(): issues `count` tokens (or OTTs) through the public API in batches of `concurrency`,
 * as the harness seeder does: 429/503 backpressure is retried with backoff, anything else fails
 * the test before any measured request.
 */
export function issueTokens(config: LoadConfig, kind: 'token' | 'ott', count: number): string[] {
  const started = Date.now()
  const url = config.baseUrl + ENDPOINTS[kind].path
  const body = credentialsBody(BENCH_CLIENT)
  const out: string[] = []
  let backoffS = BACKOFF_START_S
  let lastProgressMs = Date.now()
  while (out.length < count) {
    const n = Math.min(config.setupConcurrency, count - out.length)
    const batch = http.batch(Array.from({ length: n }, () => ({ method: 'POST', url, body, params: { headers: JSON_HEADERS, tags: { name: `setup-${kind}` } } })))
    let retriable = false
    for (const res of batch) {
      const token = accessToken(res as RefinedResponse<'text'>)
      if (token !== null) {
        out.push(token)
        lastProgressMs = Date.now()
        continue
      }
      if (res.status === 429 || res.status === 503) {
        retriable = true
        continue
      }
      throw new Error(`AUTHBENCH_ERR_SETUP_FAILED: ${ENDPOINTS[kind].path} answered ${res.status} while seeding ${kind}s: ${String(res.body).slice(0, 200)}`)
    }
    if (retriable) {
      if (Date.now() - lastProgressMs > RETRY_BUDGET_MS)
        throw new Error(`AUTHBENCH_ERR_SETUP_FAILED: ${ENDPOINTS[kind].path} kept refusing (429/503) for ${RETRY_BUDGET_MS} ms while seeding`)
      sleep(backoffS)
      backoffS = Math.min(BACKOFF_MAX_S, backoffS * 2)
    } else {
      backoffS = BACKOFF_START_S
    }
  }
  seeded.add(out.length)
  setupMs.add(Date.now() - started)
  return out
}

/** setup() of a scenario that seeds nothing still reports 0, so the importer reads a number. */
export function seedNothing(): void {
  seeded.add(0)
  setupMs.add(0)
}
