// Open-model driver, in the manner of wrk2 and k6's constant-arrival-rate: request i is due at
// t0 + i / rate whatever the responses do, over an undici Pool (pipelining 1), and its latency is
// measured from that INTENDED time. A server stall therefore shows in full in the percentiles
// instead of silently pausing the load (coordinated omission).
//
// Accounting, in the order a request meets it:
// - late send: the scheduler reached the request more than `lateThresholdUs` after its intended
//   time. That lateness is the generator's own (event loop busy, timers coarse).
// - in flight: at most `maxInFlight` requests are outstanding (k6's maxVUs). A due request that
//   finds every slot taken waits in a backlog bounded by the same number, and only until its start
//   deadline (`startDeadlineMs` after its intended time); one that cannot start by then is
//   DROPPED: counted, never sent, never in the latency histogram, never left to time out in a
//   queue. Past saturation the driver thus keeps offering the rate, the server completes what it
//   can, and the shortfall is a number instead of a pile of client-side timeouts.
// - who was the limit: the generator's own CPU time and event-loop lag over the window against the
//   target's completions (harness/saturation.ts) say whether drops and lateness came from a
//   saturated server or from the generator itself.
import { EventEmitter } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { HistogramFactory } from '../recorder.ts'
import { BadOptionError } from '../errors.ts'
import { TrialMeter, classifyFailure } from './meter.ts'
import type { Driver, DriverOptions, DriverOutcome, RequestSpec } from './types.ts'
import { classifyOpenModel, defaultMaxInFlight } from '../saturation.ts'

export interface OpenDriverOptions {
  createHistogram?: HistogramFactory
  /** A send this much later than its intended time counts as late. Default 1 ms. */
  lateThresholdUs?: number
  /**
   * Requests in flight at once (and connections in the pool); further due requests wait in a
   * backlog of at most this many. Default: load.maxInFlight, else defaultMaxInFlight(rate).
   */
  maxInFlight?: number
  /** A backlogged request that has not started this long after its intended time is dropped. Default 10 ms, at least two send intervals. */
  startDeadlineMs?: number
  /**
   * After the schedule ends, how long in-flight requests may take to finish; those still unanswered
   * then count as timeouts. Default: timeoutMs.
   */
  drainTimeoutMs?: number
}

interface Pending {
  intendedMs: number
  spec: RequestSpec
  measured: boolean
}

// A lower bound for the schedule's sleeps: a timer set for the next due request fires up to a
// millisecond or more late, so it is set to wake this early and the last stretch is polled.
const SPIN_BEFORE_DUE_MS = 1.5
const LOOP_DELAY_RESOLUTION_MS = 10
const MAX_POLL_CREDIT_US = 50

export class OpenDriver extends EventEmitter implements Driver {
  readonly #options: OpenDriverOptions

  constructor (options: OpenDriverOptions = {}) {
    super()
    this.#options = options
  }

  run (options: DriverOptions): Promise<DriverOutcome> {
    const { load, signal } = options
    const rateRps = load.rateRps
    if (rateRps === null || !(rateRps > 0)) {
      return Promise.reject(new BadOptionError('the open model needs a rate (requests per second) greater than 0'))
    }
    const meter = new TrialMeter(this, this.#options.createHistogram === undefined ? {} : { createHistogram: this.#options.createHistogram })
    const lateThresholdMs = (this.#options.lateThresholdUs ?? 1000) / 1000
    const maxInFlight = Math.max(1, this.#options.maxInFlight ?? load.maxInFlight ?? defaultMaxInFlight(rateRps, load.connections))
    const maxBacklog = maxInFlight
    const drainTimeoutMs = this.#options.drainTimeoutMs ?? load.timeoutMs

    const intervalMs = 1000 / rateRps
    const startDeadlineMs = this.#options.startDeadlineMs ?? Math.max(10, 2 * intervalMs)
    const totalSends = Math.floor((load.warmupMs + load.durationMs) * rateRps / 1000)
    const firstMeasured = Math.ceil(load.warmupMs * rateRps / 1000)

    const pool = new Pool(new URL(options.url).origin, {
      connections: maxInFlight,
      pipelining: 1,
      headersTimeout: load.timeoutMs,
      bodyTimeout: load.timeoutMs,
      connectTimeout: load.timeoutMs
    })
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })

    let scheduled = 0
    let sent = 0
    let lateSends = 0
    let dropped = 0
    // Sends and completions that happened inside the measured window (wall-clock), so that a
    // server that falls behind shows up as a completed rate below the set rate instead of being
    // credited later for a backlog it worked off after the window.
    let sentInWindow = 0
    let completedInWindow = 0
    const inWindow = (ms: number): boolean => ms >= t0 + load.warmupMs && ms <= t0 + load.warmupMs + load.durationMs
    let inFlight = 0
    let peakInFlight = 0
    // The generator's own CPU time over the measured window: with the loop lag, what says whether
    // the client kept up.
    let cpuAtStart: NodeJS.CpuUsage | null = null
    let cpuAtWindowEnd: NodeJS.CpuUsage | null = null
    let pollUs = 0
    let pollSince: number | null = null
    let next = 0
    let stopping = false
    let aborted = false
    let t0 = 0
    let windowEndMs = 0
    const backlog: Pending[] = []
    const inFlightSet = new Set<Pending>()

    return new Promise<DriverOutcome>((resolve) => {
      let drainTimer: NodeJS.Timeout | undefined
      let pumpTimer: NodeJS.Timeout | undefined
      let finished = false

      const finish = (): void => {
        if (finished) return
        finished = true
        stopping = true
        if (pumpTimer !== undefined) clearTimeout(pumpTimer)
        if (drainTimer !== undefined) clearTimeout(drainTimer)
        signal?.removeEventListener('abort', onAbort)
        meter.stop()
        loopDelay.disable()
        // Destroying the pool fails whatever is still in flight; `stopping` keeps those out of the counts.
        pool.destroy().catch(() => {})
        const measuredStartMs = t0 + load.warmupMs
        const windowMs = Math.max(0, (windowEndMs === 0 ? performance.now() : windowEndMs) - measuredStartMs)
        // The histogram holds whole timer intervals (resolution included), not the lateness alone.
        const lagP99Ms = loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0
        const cpuEnd = cpuAtWindowEnd ?? process.cpuUsage()
        // The scheduler polls (setImmediate) through the last stretch before each send, which burns
        // CPU by design: that polling, timed by hand since no API separates it, is not work the
        // generator had to do, so it is taken out of the busy share.
        const cpuUs = cpuAtStart === null ? 0 : Math.max(0, (cpuEnd.user - cpuAtStart.user) + (cpuEnd.system - cpuAtStart.system) - pollUs)
        const openModel = {
          targetRps: rateRps,
          achievedRps: windowMs > 0 ? sentInWindow / (windowMs / 1000) : 0,
          completedRps: windowMs > 0 ? completedInWindow / (windowMs / 1000) : 0,
          scheduled,
          sent,
          lateSends,
          lateShare: scheduled > 0 ? lateSends / scheduled : 0,
          dropped,
          eventLoopLagP99Ms: Math.round(lagP99Ms * 1000) / 1000,
          maxInFlight,
          peakInFlight,
          generatorCpuShare: windowMs > 0 ? Math.round(cpuUs / (windowMs * 1000) * 1000) / 1000 : 0
        }
        const outcome = meter.outcome(meter.startedAtMs === 0 ? 0 : windowMs, aborted, {
          openModel: { ...openModel, limitedBy: classifyOpenModel(openModel).limitedBy }
        })
        this.emit('done', outcome)
        resolve(outcome)
      }

      const onAbort = (): void => {
        aborted = true
        if (windowEndMs === 0) windowEndMs = performance.now()
        finish()
      }

      const maybeFinish = (): void => {
        if (next >= totalSends && inFlight === 0 && backlog.length === 0) finish()
      }

      const drop = (pending: Pending): void => {
        if (pending.measured) dropped++
      }

      const send = (pending: Pending): void => {
        inFlight++
        if (inFlight > peakInFlight) peakInFlight = inFlight
        inFlightSet.add(pending)
        if (pending.measured) sent++
        if (pending.measured && inWindow(performance.now())) sentInWindow++
        pool.request({
          method: pending.spec.method,
          path: pending.spec.path,
          headers: pending.spec.headers ?? {},
          body: pending.spec.body ?? null
        }).then(async (response) => {
          const body = await response.body.arrayBuffer()
          const doneMs = performance.now()
          pending.spec.onResponse?.(response.statusCode, response.headers, Buffer.from(body))
          const latencyUs = (doneMs - pending.intendedMs) * 1000
          if (pending.measured && inWindow(doneMs)) completedInWindow++
          if (pending.measured && !stopping) {
            meter.response(pending.spec, response.statusCode, body.byteLength + headerBytes(response.headers), latencyUs)
          }
        }, (error: unknown) => {
          if (pending.measured && !stopping) {
            meter.failure(classifyFailure(error), error instanceof Error ? error.message : String(error))
          }
        }).finally(() => {
          inFlight--
          inFlightSet.delete(pending)
          if (stopping) return
          sendFromBacklog()
          maybeFinish()
        })
      }

      const sendFromBacklog = (): void => {
        const now = performance.now()
        while (inFlight < maxInFlight && backlog.length > 0) {
          const pending = backlog.shift() as Pending
          if (now - pending.intendedMs > startDeadlineMs) drop(pending)
          else send(pending)
        }
      }

      const dispatch = (index: number, now: number): void => {
        const intendedMs = t0 + index * intervalMs
        const measured = index >= firstMeasured
        if (measured) {
          if (scheduled === 0) {
            meter.start(load.durationMs, load.warmupMs)
            loopDelay.reset()
            cpuAtStart = process.cpuUsage()
          }
          scheduled++
          if (now - intendedMs > lateThresholdMs) lateSends++
        }
        let spec: RequestSpec
        try {
          spec = options.nextRequest()
        } catch (error) {
          if (measured) meter.failure('other', `nextRequest failed: ${error instanceof Error ? error.message : String(error)}`)
          return
        }
        const pending: Pending = { intendedMs, spec, measured }
        if (inFlight < maxInFlight && backlog.length === 0) {
          send(pending)
          return
        }
        // Expired entries leave the head first, so the backlog holds only sends that can still start.
        while (backlog.length > 0 && now - (backlog[0] as Pending).intendedMs > startDeadlineMs) drop(backlog.shift() as Pending)
        if (backlog.length >= maxBacklog) {
          drop(pending)
          return
        }
        backlog.push(pending)
      }

      // One wake-up sends everything already due. A timer per request would be worse on two
      // counts: Node timers have millisecond granularity and fire late under load, so thousands of
      // them per second would each add their own lateness, and their callbacks compete with the
      // response handlers for the same loop. A batched loop keeps lateness to one wake-up's delay,
      // and latency is measured from the intended time anyway, so a late wake-up is never hidden.
      const pump = (): void => {
        pumpTimer = undefined
        const entered = performance.now()
        // One bare poll turn takes a few µs; a longer one ran response handlers too, which is work.
        if (pollSince !== null && cpuAtStart !== null && cpuAtWindowEnd === null) pollUs += Math.min(MAX_POLL_CREDIT_US, (entered - pollSince) * 1000)
        pollSince = null
        if (stopping) return
        const now = performance.now()
        while (next < totalSends && t0 + next * intervalMs <= now) {
          dispatch(next, now)
          next++
        }
        if (next >= totalSends) {
          windowEndMs = t0 + load.warmupMs + load.durationMs
          cpuAtWindowEnd = process.cpuUsage()
          // Responses to requests due inside the window still count; give them until the timeout.
          drainTimer = setTimeout(() => {
            for (const pending of inFlightSet) if (pending.measured) meter.failure('timeout', 'no answer by the end of the drain')
            for (const pending of backlog.splice(0)) drop(pending)
            finish()
          }, drainTimeoutMs)
          maybeFinish()
          return
        }
        const waitMs = t0 + next * intervalMs - performance.now()
        if (waitMs > SPIN_BEFORE_DUE_MS + 1) pumpTimer = setTimeout(pump, waitMs - SPIN_BEFORE_DUE_MS)
        else {
          // Nothing due yet: a poll. Its time until the next pump counts as polling unless a send was due.
          if (next < totalSends && t0 + next * intervalMs > performance.now()) pollSince = performance.now()
          setImmediate(pump)
        }
      }

      if (signal?.aborted === true) {
        aborted = true
        finish()
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      loopDelay.enable()
      if (load.warmupMs > 0) meter.warmup(load.warmupMs)
      if (totalSends === 0) {
        finish()
        return
      }
      t0 = performance.now()
      pump()
    })
  }
}

export function createOpenDriver (options: OpenDriverOptions = {}): OpenDriver {
  return new OpenDriver(options)
}

/** Approximate bytes of the status line and headers, so `bytes` means wire bytes in both drivers. */
function headerBytes (headers: Record<string, string | string[] | undefined>): number {
  let bytes = 17 // "HTTP/1.1 200 OK\r\n"
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) bytes += name.length + v.length + 4
    else bytes += name.length + value.length + 4
  }
  return bytes + 2
}
