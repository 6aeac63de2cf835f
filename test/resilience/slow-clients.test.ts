// Slow clients and connection exhaustion. 2,000 sockets, from a process of their own
// (test/fixtures/slow-sockets.ts), send their request headers one byte a second (slowloris) while a
// well-behaved client validates tokens at a constant rate through the harness's open-model driver:
// its p99 must stay within 2× of its p99 without them, and the server must close every slow socket
// once HEADERS_TIMEOUT_MS has passed. Then MAX_CONNECTIONS: past the cap, new connections are
// closed at once and the service still answers once they are gone.
import { fork } from 'node:child_process'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { summarizeEncoded } from '../../harness/stats/recorder.ts'
import { REPO_ROOT, TargetProcess, canPin, pinProcess } from '../../harness/engine/target-process.ts'
import { cpus } from 'node:os'
import type { RequestSpec } from '../../harness/engine/drivers/types.ts'
import { SECRET } from '../target/helpers.ts'
import { BASE, CLIENT_BODY, JSON_HEADERS, fiveXx, fmt, recordRow, runLoad, sleep, waitFor } from './helpers.ts'
import { referenceTarget } from '../../scenarios/reference-target.ts'
import type { SlowSocketRecord, SlowSocketsArgs, SlowSocketsCommand, SlowSocketsMessage } from '../fixtures/slow-sockets.ts'

const SLOW_SOCKETS = 2_000
// Long enough for the measurement under attack (4 s) to end before the first slow socket is closed.
const HEADERS_TIMEOUT_MS = 8_000
const RATE_RPS = 400
// 1,600 requests per phase: the p99 is then the 16th slowest, where at 600 it was the 6th and a
// few late sends on either side moved the ratio by half.
const MEASURE_MS = 4_000
// As the harness runs a benchmark: the target on core 0, the load generator (this process) on
// core 1, and the attack's process beside the target, as an attacker's sockets cost the server's
// core and not the client's. Unpinned, the three shared both cores, the generator's own sends went
// late, and the p99 of the well-behaved client measured the scheduler (0.4–9.2× over 12 runs).
const PIN = canPin()

interface SlowSockets {
  /** Every socket as it was once all had connected (or closed); null until then. */
  connected: SlowSocketRecord[] | null
  /** Every socket once the server had closed them all; null until then. */
  closed: SlowSocketRecord[] | null
  /** How the process ended ("exit code 1", "SIGKILL"), null while it runs. */
  exit: string | null
  report(): Promise<SlowSocketRecord[]>
  /** Kill the process (its sockets close with it) and wait for it to exit. */
  stop(): Promise<void>
}

/** The slow sockets in their own process (test/fixtures/slow-sockets.ts). */
function startSlowSockets(args: SlowSocketsArgs): SlowSockets {
  const child = fork(join(REPO_ROOT, 'test/fixtures/slow-sockets.ts'), [JSON.stringify(args)], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  if (PIN && child.pid !== undefined) void pinProcess(child.pid, '0', true)
  const reports: Array<{ resolve: (s: SlowSocketRecord[]) => void; reject: (e: Error) => void }> = []
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      state.exit = signal ?? `exit code ${code}`
      for (const r of reports.splice(0)) r.reject(new Error(`the slow-sockets process ended (${state.exit})`))
      resolve()
    })
  )
  const state: SlowSockets = {
    connected: null,
    closed: null,
    exit: null,
    report: () =>
      new Promise((resolve, reject) => {
        if (state.exit !== null) return reject(new Error(`the slow-sockets process ended (${state.exit})`))
        reports.push({ resolve, reject })
        child.send({ type: 'report' } satisfies SlowSocketsCommand, (err) => {
          if (err) reject(err)
        })
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
  child.on('message', (m: SlowSocketsMessage) => {
    if (m.type === 'connected') state.connected = m.sockets
    else if (m.type === 'closed') state.closed = m.sockets
    else reports.shift()?.resolve(m.sockets)
  })
  return state
}

describe('slow clients', () => {
  let target: TargetProcess
  beforeAll(async () => {
    if (PIN) await pinProcess(process.pid, '1')
    // Shedding off: what is measured is whether held sockets starve the others, not admission control.
    target = await TargetProcess.start({
      ...referenceTarget(),
      pinCpus: PIN ? '0' : null,
      env: {
        JWT_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
        SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
        SHED_MAX_ACTIVE_CONNECTIONS: '0'
      }
    })
  }, 60_000)
  let attacker: SlowSockets | null = null
  const stopAttacker = async () => {
    await attacker?.stop()
    attacker = null
  }
  afterAll(async () => {
    await stopAttacker()
    await target?.stop()
    if (PIN) await pinProcess(process.pid, `0-${cpus().length - 1}`)
  })

  it(`${fmt(SLOW_SOCKETS)} sockets sending headers at 1 byte/s do not stop a well-behaved client, and are closed after the header timeout`, async () => {
    const res = await fetch(`${target.url}${BASE}/token`, { method: 'POST', headers: JSON_HEADERS, body: CLIENT_BODY })
    const jwt = ((await res.json()) as { access_token: string }).access_token
    const spec: RequestSpec = Object.freeze({
      method: 'POST',
      path: `${BASE}/validate`,
      expectedStatuses: [200],
      headers: Object.freeze({ ...JSON_HEADERS, authorization: `Bearer ${jwt}` }),
      body: '{"resource":"/quotes/ltp"}'
    })
    const measure = async () => {
      const outcome = await runLoad(target.url, { rateRps: RATE_RPS, durationMs: MEASURE_MS, connections: 16 }, () => spec)
      return {
        p99Us: summarizeEncoded(outcome.histogram).p99,
        lateSends: outcome.openModel?.lateSends ?? 0,
        errors: outcome.errors,
        requests: outcome.requests,
        fiveXx: fiveXx(outcome)
      }
    }
    await measure() // warm-up: JIT and connection pool, not counted
    const idleBefore = await measure()

    // The attack, from its own process so that this one's event loop measures only the server:
    // every socket starts a request and then sends one more header byte a second.
    const line = `POST ${BASE}/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}`
    const slow = startSlowSockets({ port: target.port, count: SLOW_SOCKETS, line })
    attacker = slow
    try {
      expect(await waitFor(() => slow.connected !== null || slow.exit !== null, 20_000, 20)).toBe(true)
      expect(slow.exit).toBeNull()
      const connectedMs = Math.max(...(slow.connected ?? []).map((e) => e.openedMs))
      const underAttack = await measure()
      const stillOpenDuringMeasure = (await slow.report()).filter((e) => e.closedMs === null).length
      // Every slow socket is closed by the server once its header time is up (not before).
      expect(await waitFor(() => slow.closed !== null || slow.exit !== null, HEADERS_TIMEOUT_MS + 10_000, 50)).toBe(true)
      expect(slow.exit).toBeNull()
      const sockets = slow.closed ?? []
      expect(sockets).toHaveLength(SLOW_SOCKETS)
      const lifetimesMs = sockets.map((e) => (e.closedMs as number) - e.openedMs)
      const minLifeMs = Math.min(...lifetimesMs)
      const maxLifeMs = Math.max(...lifetimesMs)
      const answered408 = sockets.filter((e) => e.statusLine.startsWith('HTTP/1.1 408')).length
      const idleAfter = await measure()

      const idleP99Us = (idleBefore.p99Us + idleAfter.p99Us) / 2
      const ratio = underAttack.p99Us / idleP99Us
      const allDoneMs = Math.max(...sockets.map((e) => e.closedMs as number)) - connectedMs
      const passed = ratio <= 2 && underAttack.errors === 0 && minLifeMs >= HEADERS_TIMEOUT_MS - 500 && answered408 === SLOW_SOCKETS
      recordRow({
        id: 'slow-clients',
        order: 60,
        fault: `${fmt(SLOW_SOCKETS)} sockets sending headers at 1 byte/s, each on its own phase, from another process (HEADERS_TIMEOUT_MS ${fmt(HEADERS_TIMEOUT_MS)})`,
        load: `validate at ${RATE_RPS} req/s (open model), ${MEASURE_MS / 1000} s before, during and after`,
        lost: `${underAttack.errors} of ${fmt(underAttack.requests)} well-behaved requests failed; p99 ${(underAttack.p99Us / 1000).toFixed(2)} ms under attack vs ${(idleP99Us / 1000).toFixed(2)} ms idle (×${ratio.toFixed(2)}, limit ×2)`,
        recoverMs: allDoneMs,
        fiveXx: String(idleBefore.fiveXx + underAttack.fiveXx + idleAfter.fiveXx),
        passed,
        notes: `${fmt(stillOpenDuringMeasure)} slow sockets still open at the end of the measurement; each closed after ${(minLifeMs / 1000).toFixed(1)}–${(maxLifeMs / 1000).toFixed(1)} s, ${fmt(answered408)} with 408; the generator sent ${underAttack.lateSends} requests > 5 ms late under attack, ${idleBefore.lateSends + idleAfter.lateSends} idle`
      })
      expect(stillOpenDuringMeasure).toBe(SLOW_SOCKETS)
      expect(underAttack.errors).toBe(0)
      // The p99 ratio is a performance target: recorded in the reliability table (and its row fails
      // there) on every run, asserted only in the standalone suite (npm run test:resilience). With
      // 1,600 requests per phase, 6 strict runs alone on a 2-core VM measured ×0.71–1.28 (three with
      // the attacker on the target's core, three on the generator's); at 600 requests per phase
      // they had measured 1.12–2.59×, and unpinned 0.4–9.2×.
      const ratioDetail = `p99 under attack ${underAttack.p99Us} µs vs idle ${idleBefore.p99Us} / ${idleAfter.p99Us} µs`
      if (process.env.RESILIENCE_STRICT === '1') expect(ratio, ratioDetail).toBeLessThanOrEqual(2)
      // On every run, the weaker form: no well-behaved request was answered 5xx under attack, and
      // the attack does not multiply its p99. Three runs beside other heavy jobs on a shared 2-core
      // machine measured ×0.32, 1.85 and 1.85 (idle p99s of 1.6–25 ms); 4× leaves room for that noise
      // while still failing when the slow sockets starve the event loop.
      expect(underAttack.fiveXx, ratioDetail).toBe(0)
      expect(ratio, ratioDetail).toBeLessThanOrEqual(4)
      expect(minLifeMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500)
      // Checked once a second (connectionsCheckingInterval), so at most ~1 s late, plus a busy machine's slack.
      expect(maxLifeMs).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + 4_000)
      expect(answered408).toBe(SLOW_SOCKETS)
    } finally {
      await stopAttacker()
    }
  }, 90_000)
})

describe('connection cap', () => {
  const CAP = 50
  let target: TargetProcess
  beforeAll(async () => {
    target = await TargetProcess.start({ ...referenceTarget(), pinCpus: null, env: { JWT_SECRET: SECRET, LOG_LEVEL: 'warn', MAX_CONNECTIONS: String(CAP) } })
  }, 60_000)
  afterAll(async () => {
    await target?.stop()
  })

  it('past MAX_CONNECTIONS new connections are closed at once; the service answers again once they are gone', async () => {
    const sockets = Array.from({ length: CAP + 20 }, () => {
      const s = { socket: net.connect(target.port, '127.0.0.1'), closed: false }
      s.socket.on('close', () => {
        s.closed = true
      })
      s.socket.on('error', () => {})
      return s
    })
    try {
      expect(await waitFor(() => sockets.filter((s) => s.closed).length >= 20, 5_000, 20)).toBe(true)
      await sleep(300)
      expect(sockets.filter((s) => !s.closed)).toHaveLength(CAP)
    } finally {
      for (const s of sockets) s.socket.destroy()
    }
    expect(await waitFor(async () => (await fetch(`${target.url}${BASE}/`)).status === 200, 5_000, 50)).toBe(true)
  }, 30_000)
})
