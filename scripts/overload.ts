// Overload behaviour of the reference target, with and without shedding, side by side in one run:
// per preset, a fresh target (core 0) is driven far past its capacity from core 1, closed model
// (autocannon, thousands of connections on POST /validate) or open model (the harness's driver at a
// multiple of capacity), then measured while it recovers. Figures per preset: shed share (503/429),
// admitted (200) p50/p99, server time per shed reply (from the target's own histogram), peak RSS,
// and how long after the load stopped a light probe's p99 came back within 1.5× its idle p99.
//   node --import tsx scripts/overload.ts [--presets phase2,phase1] [--connections 4000]
//     [--duration-s 10] [--rate 0] [--store memory|postgres] [--rounds 1]
// --rate > 0 runs the open model at that rate instead of the closed model.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import * as hdr from 'hdr-histogram-js'
import { Pool, request } from 'undici'
import { OpenDriver } from '../harness/engine/drivers/open.ts'
import { pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'
import { BASE_PATH } from '../scenarios/catalog.ts'

const BASE = BASE_PATH

export interface OverloadOptions {
  /** Closed model: connections; ignored when rateRps > 0. */
  connections: number
  durationMs: number
  /** > 0: open model at this rate (harness driver, --max-in-flight default). */
  rateRps: number
  /** Probe rate while idle and while recovering. */
  probeRps: number
  /** How long the recovery is watched. */
  recoveryWatchMs: number
}

export interface OverloadFigures {
  responses: number
  admitted: number
  shed: number
  other: number
  /** Statuses (or failure kinds) of the `other` answers. */
  otherByStatus: Record<string, number>
  shedShare: number
  admittedP50Ms: number | null
  admittedP99Ms: number | null
  /**
   * Server time of shed replies by status, from the target's own histogram (request start to
   * reply): 503 (event-loop pressure) and 429 (the request queue, whose timeout holds a request up
   * to QUEUE_TIMEOUT_MS before refusing it). Door refusals never reach it (no request is created).
   */
  shedServer: Record<string, { count: number; meanUs: number }>
  idleRssMb: number
  peakRssMb: number
  idleP99Ms: number
  /** ms after the load stopped until a probe window's p99 was within 1.5× idle; null if never within the watch. */
  recoveryMs: number | null
  /** Open model only: what the generator reached and dropped. */
  open?: { completedRps: number; dropped: number; scheduled: number; classification: string }
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m === null ? 0 : Number(m[1]) / 1024
}

async function issueToken(url: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const res = await request(`${url}${BASE}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
    })
    const body = (await res.body.json()) as { access_token?: string }
    if (res.statusCode === 200 && body.access_token !== undefined) return body.access_token
    if (attempt >= 20) throw new Error(`POST /token answered ${res.statusCode}: ${JSON.stringify(body)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Light open-loop probe on validate; p99 per window of `windowMs` (ms). */
async function probe(url: string, token: string, rps: number, durationMs: number, windowMs: number): Promise<number[]> {
  const pool = new Pool(url, { connections: 8 })
  const windows: hdr.Histogram[] = []
  const t0 = performance.now()
  const sends: Promise<void>[] = []
  const n = Math.floor((rps * durationMs) / 1000)
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rps
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const w = Math.floor((due - t0) / windowMs)
    windows[w] ??= hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
    sends.push(
      pool
        .request({
          method: 'POST',
          path: `${BASE}/validate`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: '{"resource":"/quotes/ltp"}'
        })
        .then(
          async (res) => {
            await res.body.dump()
            if (res.statusCode === 200) windows[w]?.recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)))
          },
          () => undefined
        )
    )
  }
  await Promise.all(sends)
  await pool.close()
  return windows.map((h) => (h.totalCount > 0 ? h.getValueAtPercentile(99) / 1000 : Number.POSITIVE_INFINITY))
}

async function shedServer(url: string): Promise<OverloadFigures['shedServer']> {
  const res = await request(`${url}/metrics`)
  const text = await res.body.text()
  const sums: Record<string, { sum: number; count: number }> = {}
  for (const line of text.split('\n')) {
    const m = /^authbench_http_request_duration_seconds_(sum|count)\{[^}]*status="(503|429)"[^}]*\} ([\d.e+-]+)$/.exec(line)
    if (m === null) continue
    const entry = (sums[m[2] as string] ??= { sum: 0, count: 0 })
    if (m[1] === 'sum') entry.sum += Number(m[3])
    else entry.count += Number(m[3])
  }
  return Object.fromEntries(
    Object.entries(sums)
      .filter(([, e]) => e.count > 0)
      .map(([status, e]) => [status, { count: e.count, meanUs: Math.round((e.sum / e.count) * 1e6) }])
  )
}

/** The answers to the overload: admitted (200) with their latency, shed (503/429), and the rest by status or failure kind. */
class Answers {
  admitted = 0
  shed = 0
  other = 0
  readonly otherByStatus: Record<string, number> = {}
  readonly admittedHist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })

  answer(status: number, latencyUs: number): void {
    if (status === 200) {
      this.admitted++
      this.admittedHist.recordValue(Math.max(1, latencyUs))
    } else if (status === 503 || status === 429) this.shed++
    else this.countOther(String(status))
  }

  countOther(key: string, n = 1): void {
    this.other += n
    this.otherByStatus[key] = (this.otherByStatus[key] ?? 0) + n
  }
}

interface Flood {
  url: string
  opts: OverloadOptions
  headers: Record<string, string>
  body: string
  answers: Answers
}

/** Open model: the harness's driver at opts.rateRps on POST /validate; returns what the generator reached and dropped. */
async function floodOpen({ url, opts, headers, body, answers }: Flood): Promise<NonNullable<OverloadFigures['open']>> {
  const driver = new OpenDriver()
  driver.on('response', (e: { status: number; latencyUs: number }) => answers.answer(e.status, e.latencyUs))
  const outcome = await driver.run({
    url,
    load: { model: 'open', durationMs: opts.durationMs, warmupMs: 0, connections: 64, pipelining: 1, rateRps: opts.rateRps, maxRequests: null, timeoutMs: 10_000 },
    nextRequest: () => ({ method: 'POST', path: `${BASE}/validate`, headers, body, expectedStatuses: [200] })
  })
  for (const kind of ['timeouts', 'resets', 'other'] as const) if (outcome.errorsByKind[kind] > 0) answers.countOther(kind, outcome.errorsByKind[kind])
  const om = outcome.openModel
  return { completedRps: om?.completedRps ?? 0, dropped: om?.dropped ?? 0, scheduled: om?.scheduled ?? 0, classification: om?.limitedBy ?? 'n/a' }
}

/** Closed model: autocannon with opts.connections connections on POST /validate. */
async function floodClosed({ url, opts, headers, body, answers }: Flood): Promise<void> {
  const instance = autocannon(
    {
      url: `${url}${BASE}/validate`,
      method: 'POST',
      headers,
      body,
      connections: opts.connections,
      duration: opts.durationMs / 1000,
      timeout: 10,
      pipelining: 1
    },
    () => undefined
  )
  // Failures without an answer (a reset or refused connection, a timeout) are in autocannon's
  // result only, not in its 'response' events.
  const done = new Promise<void>((resolve) =>
    instance.once('done', (result: { errors: number; timeouts: number }) => {
      if (result.timeouts > 0) answers.countOther('timeouts', result.timeouts)
      if (result.errors - result.timeouts > 0) answers.countOther('connection errors', result.errors - result.timeouts)
      resolve()
    })
  )
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    answers.answer(statusCode, Math.round(responseTimeMs * 1000))
  })
  await done
}

/** ms after the load stopped until a probe window's p99 was within 1.5× idle; null if never within the watch. */
async function recoveryMs(url: string, token: string, opts: OverloadOptions, idleP99Ms: number): Promise<number | null> {
  const stoppedAt = performance.now()
  // Recovery: probe windows of 250 ms right after the load stopped.
  const windowMs = 250
  const recovery = await probe(url, token, opts.probeRps, opts.recoveryWatchMs, windowMs)
  const firstOk = recovery.findIndex((p99) => p99 <= idleP99Ms * 1.5)
  const probeStartLagMs = performance.now() - stoppedAt - opts.recoveryWatchMs
  return firstOk < 0 ? null : Math.max(0, (firstOk + 1) * windowMs + Math.min(0, probeStartLagMs))
}

/** One overload trial against a running target whose pid is known. */
export async function overloadTrial(url: string, pid: number, opts: OverloadOptions): Promise<OverloadFigures> {
  const token = await issueToken(url)
  await probe(url, token, opts.probeRps, 1000, 1000) // warm-up
  const idle = await probe(url, token, opts.probeRps, 2000, 2000)
  const idleP99Ms = idle[0] ?? Number.POSITIVE_INFINITY
  const idleRssMb = await rssMb(pid)
  let peakRssMb = idleRssMb
  const sampler = setInterval(
    () =>
      void rssMb(pid).then((mb) => {
        peakRssMb = Math.max(peakRssMb, mb)
      }),
    200
  )
  const answers = new Answers()
  const flood: Flood = { url, opts, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"resource":"/quotes/ltp"}', answers }
  let open: OverloadFigures['open']
  try {
    if (opts.rateRps > 0) open = await floodOpen(flood)
    else await floodClosed(flood)
  } finally {
    clearInterval(sampler)
  }
  const recovered = await recoveryMs(url, token, opts, idleP99Ms)
  const { admitted, shed, other, otherByStatus, admittedHist } = answers
  const responses = admitted + shed + other
  return {
    responses,
    admitted,
    shed,
    other,
    otherByStatus,
    shedShare: responses === 0 ? 0 : shed / responses,
    admittedP50Ms: admitted === 0 ? null : admittedHist.getValueAtPercentile(50) / 1000,
    admittedP99Ms: admitted === 0 ? null : admittedHist.getValueAtPercentile(99) / 1000,
    shedServer: await shedServer(url),
    idleRssMb,
    peakRssMb,
    idleP99Ms,
    recoveryMs: recovered,
    ...(open === undefined ? {} : { open })
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      presets: { type: 'string', default: 'phase2,phase1' },
      connections: { type: 'string', default: '4000' },
      'duration-s': { type: 'string', default: '10' },
      rate: { type: 'string', default: '0' },
      store: { type: 'string', default: 'memory' },
      rounds: { type: 'string', default: '1' },
      'target-env': { type: 'string', multiple: true, default: [] }
    }
  })
  const generator = await pinGenerator()
  const env: Record<string, string> = { LOG_LEVEL: 'warn' }
  for (const kv of values['target-env'] ?? []) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1)
  if (values.store === 'postgres') {
    env.DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    env.REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  }
  const opts: OverloadOptions = {
    connections: Number(values.connections),
    durationMs: Number(values['duration-s']) * 1000,
    rateRps: Number(values.rate),
    probeRps: 200,
    recoveryWatchMs: 3000
  }
  console.log(
    `overload: ${opts.rateRps > 0 ? `open model ${opts.rateRps} req/s` : `closed model ${opts.connections} connections`}, ${opts.durationMs} ms on POST /validate, store ${values.store}, generator on CPU ${generator ?? 'any'}`
  )
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const preset of (values.presets ?? '').split(',')) {
      const target = await startTarget({ ...referenceTarget({ ...env, PRESET: preset }), pinCpus: generator === null ? null : 'auto' })
      try {
        const f = await overloadTrial(target.url, target.pid ?? 0, opts)
        const ms = (v: number | null): string => (v === null ? '—' : v.toFixed(1))
        console.log(
          `${preset}: responses ${f.responses}, shed ${(f.shedShare * 100).toFixed(1)}% (server time per shed reply: ${
            Object.entries(f.shedServer)
              .map(([status, e]) => `${status} × ${e.count} at ${e.meanUs} µs`)
              .join(', ') || 'none through Fastify'
          }), admitted ${f.admitted} p50 ${ms(f.admittedP50Ms)} ms p99 ${ms(f.admittedP99Ms)} ms, other ${f.other} ${JSON.stringify(f.otherByStatus)}, RSS ${f.idleRssMb.toFixed(0)} → peak ${f.peakRssMb.toFixed(0)} MB, idle probe p99 ${f.idleP99Ms.toFixed(2)} ms, recovered ${f.recoveryMs === null ? `not within ${opts.recoveryWatchMs} ms` : `in ${Math.round(f.recoveryMs)} ms`}${f.open === undefined ? '' : `, open: completed ${f.open.completedRps.toFixed(0)} req/s, dropped ${f.open.dropped}/${f.open.scheduled}, ${f.open.classification}`}`
        )
      } finally {
        await target.stop()
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
