// Open-model driver, in the manner of wrk2 and k6's constant-arrival-rate: request i is due at
// t0 + i / rate whatever the responses do, over keep-alive connections (one request in flight on
// each: harness/engine/drivers/http1-pool.ts, or undici for https:), and its latency is
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
//   target's completions (harness/engine/saturation.ts) say whether drops and lateness came from a
//   saturated server or from the generator itself.
import { EventEmitter } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createTransport } from './transport.ts'
import type { HeadersRecord, Transport } from './transport.ts'
import type { HistogramFactory } from '../../stats/recorder.ts'
import { BadOptionError } from '../../errors.ts'
import { TrialMeter, classifyFailure, generatorCpuUs, loopLagP99Ms } from './meter.ts'
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
  /**
   * How requests go out: 'http1' (the default for http: targets, harness/engine/drivers/http1-pool.ts:
   * prebuilt request bytes on raw keep-alive sockets) or 'undici' (the default for https:).
   */
  transport?: 'http1' | 'undici'
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

  constructor(options: OpenDriverOptions = {}) {
    super()
    this.#options = options
  }

  run(options: DriverOptions): Promise<DriverOutcome> {
    const rateRps = options.load.rateRps
    if (rateRps === null || !(rateRps > 0)) {
      return Promise.reject(new BadOptionError('the open model needs a rate (requests per second) greater than 0'))
    }
    return new Promise<DriverOutcome>((resolve) => {
      new OpenRun(this, this.#options, options, rateRps, (outcome) => {
        this.emit('done', outcome)
        resolve(outcome)
      }).start()
    })
  }
}

/** The counts the outcome's `openModel` reports, kept as the run goes. */
interface OpenCounts {
  scheduled: number
  sent: number
  lateSends: number
  dropped: number
  // Sends and completions that happened inside the measured window (wall-clock), so that a
  // server that falls behind shows up as a completed rate below the set rate instead of being
  // credited later for a backlog it worked off after the window.
  sentInWindow: number
  completedInWindow: number
  peakInFlight: number
}

/** One run of the open driver: its schedule, backlog, pool and counts, from start to outcome. */
class OpenRun {
  readonly #options: DriverOptions
  readonly #load: DriverOptions['load']
  readonly #rateRps: number
  readonly #meter: TrialMeter
  readonly #done: (outcome: DriverOutcome) => void
  readonly #lateThresholdMs: number
  readonly #maxInFlight: number
  readonly #maxBacklog: number
  readonly #drainTimeoutMs: number
  readonly #intervalMs: number
  readonly #startDeadlineMs: number
  readonly #totalSends: number
  readonly #firstMeasured: number
  readonly #transport: Transport
  readonly #loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  readonly #counts: OpenCounts = { scheduled: 0, sent: 0, lateSends: 0, dropped: 0, sentInWindow: 0, completedInWindow: 0, peakInFlight: 0 }
  readonly #backlog: Pending[] = []
  readonly #inFlightSet = new Set<Pending>()
  #inFlight = 0
  // The generator's own CPU time over the measured window: with the loop lag, what says whether
  // the client kept up.
  #cpuAtStart: NodeJS.CpuUsage | null = null
  #cpuAtWindowEnd: NodeJS.CpuUsage | null = null
  #pollUs = 0
  #pollSince: number | null = null
  #next = 0
  #stopping = false
  #aborted = false
  #t0 = 0
  #windowEndMs = 0
  #drainTimer: NodeJS.Timeout | undefined
  #pumpTimer: NodeJS.Timeout | undefined
  #finished = false
  readonly #onAbort = (): void => {
    this.#aborted = true
    if (this.#windowEndMs === 0) this.#windowEndMs = performance.now()
    this.#finish()
  }

  constructor(emitter: EventEmitter, driverOptions: OpenDriverOptions, options: DriverOptions, rateRps: number, done: (outcome: DriverOutcome) => void) {
    const load = options.load
    this.#options = options
    this.#load = load
    this.#rateRps = rateRps
    this.#done = done
    this.#meter = new TrialMeter(emitter, driverOptions.createHistogram === undefined ? {} : { createHistogram: driverOptions.createHistogram })
    this.#lateThresholdMs = (driverOptions.lateThresholdUs ?? 1000) / 1000
    this.#maxInFlight = Math.max(1, driverOptions.maxInFlight ?? load.maxInFlight ?? defaultMaxInFlight(rateRps, load.connections))
    this.#maxBacklog = this.#maxInFlight
    this.#drainTimeoutMs = driverOptions.drainTimeoutMs ?? load.timeoutMs
    this.#intervalMs = 1000 / rateRps
    this.#startDeadlineMs = driverOptions.startDeadlineMs ?? Math.max(10, 2 * this.#intervalMs)
    this.#totalSends = Math.floor(((load.warmupMs + load.durationMs) * rateRps) / 1000)
    this.#firstMeasured = Math.ceil((load.warmupMs * rateRps) / 1000)
    const origin = new URL(options.url).origin
    this.#transport = createTransport(origin, {
      connections: this.#maxInFlight,
      timeoutMs: load.timeoutMs,
      ...(driverOptions.transport === undefined ? {} : { kind: driverOptions.transport }),
      onCapacity: () => {
        if (!this.#stopping) this.#sendFromBacklog()
      }
    })
  }

  start(): void {
    const signal = this.#options.signal
    if (signal?.aborted === true) {
      this.#aborted = true
      this.#finish()
      return
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true })
    this.#loopDelay.enable()
    if (this.#load.warmupMs > 0) this.#meter.warmup(this.#load.warmupMs)
    if (this.#totalSends === 0) {
      this.#finish()
      return
    }
    this.#t0 = performance.now()
    this.#pump()
  }

  #inWindow(ms: number): boolean {
    const measuredStartMs = this.#t0 + this.#load.warmupMs
    return ms >= measuredStartMs && ms <= measuredStartMs + this.#load.durationMs
  }

  #intendedMs(index: number): number {
    return this.#t0 + index * this.#intervalMs
  }

  // One wake-up sends everything already due. A timer per request would be worse on two
  // counts: Node timers have millisecond granularity and fire late under load, so thousands of
  // them per second would each add their own lateness, and their callbacks compete with the
  // response handlers for the same loop. A batched loop keeps lateness to one wake-up's delay,
  // and latency is measured from the intended time anyway, so a late wake-up is never hidden.
  #pump = (): void => {
    this.#pumpTimer = undefined
    this.#creditPolling(performance.now())
    if (this.#stopping) return
    const now = performance.now()
    while (this.#next < this.#totalSends && this.#intendedMs(this.#next) <= now) {
      this.#dispatch(this.#next, now)
      this.#next++
    }
    if (this.#next >= this.#totalSends) {
      this.#endSchedule()
      return
    }
    this.#sleepUntilDue()
  }

  /** One bare poll turn takes a few µs; a longer one ran response handlers too, which is work. */
  #creditPolling(entered: number): void {
    if (this.#pollSince !== null && this.#cpuAtStart !== null && this.#cpuAtWindowEnd === null) this.#pollUs += Math.min(MAX_POLL_CREDIT_US, (entered - this.#pollSince) * 1000)
    this.#pollSince = null
  }

  #sleepUntilDue(): void {
    const waitMs = this.#intendedMs(this.#next) - performance.now()
    if (waitMs > SPIN_BEFORE_DUE_MS + 1) this.#pumpTimer = setTimeout(this.#pump, waitMs - SPIN_BEFORE_DUE_MS)
    else {
      // Nothing due yet: a poll. Its time until the next pump counts as polling unless a send was due.
      if (this.#next < this.#totalSends && this.#intendedMs(this.#next) > performance.now()) this.#pollSince = performance.now()
      setImmediate(this.#pump)
    }
  }

  /** Every send is scheduled: the window closes, and what is in flight gets until the drain timeout. */
  #endSchedule(): void {
    this.#windowEndMs = this.#t0 + this.#load.warmupMs + this.#load.durationMs
    this.#cpuAtWindowEnd = process.cpuUsage()
    // Responses to requests due inside the window still count; give them until the timeout.
    this.#drainTimer = setTimeout(() => {
      for (const pending of this.#inFlightSet) if (pending.measured) this.#meter.failure('timeout', 'no answer by the end of the drain')
      for (const pending of this.#backlog.splice(0)) this.#drop(pending)
      this.#finish()
    }, this.#drainTimeoutMs)
    this.#maybeFinish()
  }

  /** Request `index` is due: count it, then send it, backlog it, or drop it. */
  #dispatch(index: number, now: number): void {
    const intendedMs = this.#intendedMs(index)
    const measured = index >= this.#firstMeasured
    if (measured) this.#countScheduled(now - intendedMs)
    let spec: RequestSpec
    try {
      spec = this.#options.nextRequest()
    } catch (error) {
      if (measured) this.#meter.failure('other', `nextRequest failed: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    const pending: Pending = { intendedMs, spec, measured }
    if (this.#backlog.length === 0 && this.#canSend()) {
      this.#send(pending)
      return
    }
    this.#backlogOrDrop(pending, now)
  }

  /** The first measured send starts the measurement (meter, loop lag, CPU); each counts, late or not. */
  #countScheduled(lateMs: number): void {
    if (this.#counts.scheduled === 0) {
      this.#meter.start(this.#load.durationMs, this.#load.warmupMs)
      this.#loopDelay.reset()
      this.#cpuAtStart = process.cpuUsage()
    }
    this.#counts.scheduled++
    if (lateMs > this.#lateThresholdMs) this.#counts.lateSends++
  }

  #backlogOrDrop(pending: Pending, now: number): void {
    const backlog = this.#backlog
    // Expired entries leave the head first, so the backlog holds only sends that can still start.
    while (backlog.length > 0 && now - (backlog[0] as Pending).intendedMs > this.#startDeadlineMs) this.#drop(backlog.shift() as Pending)
    if (backlog.length >= this.#maxBacklog) {
      this.#drop(pending)
      return
    }
    backlog.push(pending)
  }

  #drop(pending: Pending): void {
    if (pending.measured) this.#counts.dropped++
  }

  /** A free in-flight slot, and a socket for it (the raw pool opens only so many at once). */
  #canSend(): boolean {
    return this.#inFlight < this.#maxInFlight && this.#transport.canSend()
  }

  #send(pending: Pending): void {
    const counts = this.#counts
    this.#inFlight++
    if (this.#inFlight > counts.peakInFlight) counts.peakInFlight = this.#inFlight
    this.#inFlightSet.add(pending)
    if (pending.measured) counts.sent++
    if (pending.measured && this.#inWindow(performance.now())) counts.sentInWindow++
    const spec = pending.spec
    try {
      this.#transport.send(spec, {
        keepBody: spec.onResponse !== undefined,
        onAnswer: (answer) => this.#answered(pending, answer.status, answer.headers, answer.body, answer.wireBytes),
        onError: (error) => this.#failed(pending, error)
      })
    } catch (error) {
      this.#failed(pending, error)
    }
  }

  /** An answer came: the scenario's own check, then the counts and the latency from the intended time. */
  #answered(pending: Pending, status: number, headersOf: () => HeadersRecord, body: Buffer, bytes: number): void {
    const doneMs = performance.now()
    const spec = pending.spec
    if (spec.onResponse !== undefined) {
      try {
        spec.onResponse(status, headersOf(), body)
      } catch (error) {
        // A scenario's own check failed: counted as that request's failure, never thrown into the pool.
        if (pending.measured && !this.#stopping) this.#meter.failure('other', `onResponse failed: ${error instanceof Error ? error.message : String(error)}`)
        this.#settled(pending)
        return
      }
    }
    if (pending.measured && this.#inWindow(doneMs)) this.#counts.completedInWindow++
    if (pending.measured && !this.#stopping) this.#meter.response(spec, status, bytes, (doneMs - pending.intendedMs) * 1000)
    this.#settled(pending)
  }

  #failed(pending: Pending, error: unknown): void {
    if (pending.measured && !this.#stopping) this.#meter.failure(classifyFailure(error), error instanceof Error ? error.message : String(error))
    this.#settled(pending)
  }

  /** A request answered or failed: its slot goes to the backlog's head, and the run may be over. */
  #settled(pending: Pending): void {
    this.#inFlight--
    this.#inFlightSet.delete(pending)
    if (this.#stopping) return
    this.#sendFromBacklog()
    this.#maybeFinish()
  }

  #sendFromBacklog(): void {
    const now = performance.now()
    const backlog = this.#backlog
    while (backlog.length > 0) {
      const pending = backlog[0] as Pending
      if (now - pending.intendedMs > this.#startDeadlineMs) {
        backlog.shift()
        this.#drop(pending)
        continue
      }
      if (!this.#canSend()) break
      backlog.shift()
      this.#send(pending)
    }
  }

  #maybeFinish(): void {
    if (this.#next >= this.#totalSends && this.#inFlight === 0 && this.#backlog.length === 0) this.#finish()
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#stopping = true
    if (this.#pumpTimer !== undefined) clearTimeout(this.#pumpTimer)
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer)
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    this.#meter.stop()
    this.#loopDelay.disable()
    // Destroying the pool fails whatever is still in flight; `stopping` keeps those out of the counts.
    this.#transport.destroy().catch(() => {})
    const windowMs = Math.max(0, (this.#windowEndMs === 0 ? performance.now() : this.#windowEndMs) - (this.#t0 + this.#load.warmupMs))
    const openModel = this.#openModelFigures(windowMs)
    this.#done(
      this.#meter.outcome(this.#meter.startedAtMs === 0 ? 0 : windowMs, this.#aborted, {
        openModel: { ...openModel, limitedBy: classifyOpenModel(openModel).limitedBy }
      })
    )
  }

  /** Rates over the measured window, the counts, the loop lag and the generator's busy share. */
  #openModelFigures(windowMs: number): Required<Omit<NonNullable<DriverOutcome['openModel']>, 'limitedBy'>> {
    const counts = this.#counts
    const cpuEnd = this.#cpuAtWindowEnd ?? process.cpuUsage()
    const cpuAtStart = this.#cpuAtStart
    // The scheduler's polling before each send is timed by hand (#creditPolling): no API separates it.
    const cpuUs = generatorCpuUs(cpuAtStart, cpuEnd, this.#pollUs)
    return {
      targetRps: this.#rateRps,
      achievedRps: windowMs > 0 ? counts.sentInWindow / (windowMs / 1000) : 0,
      completedRps: windowMs > 0 ? counts.completedInWindow / (windowMs / 1000) : 0,
      scheduled: counts.scheduled,
      sent: counts.sent,
      lateSends: counts.lateSends,
      lateShare: counts.scheduled > 0 ? counts.lateSends / counts.scheduled : 0,
      dropped: counts.dropped,
      eventLoopLagP99Ms: loopLagP99Ms(this.#loopDelay, LOOP_DELAY_RESOLUTION_MS),
      maxInFlight: this.#maxInFlight,
      peakInFlight: counts.peakInFlight,
      generatorCpuShare: windowMs > 0 ? Math.round((cpuUs / (windowMs * 1000)) * 1000) / 1000 : 0
    }
  }
}

export function createOpenDriver(options: OpenDriverOptions = {}): OpenDriver {
  return new OpenDriver(options)
}
