// Closed-model driver: autocannon used programmatically, `connections` × `pipelining` requests in
// flight, each connection sending its next request when a response arrives.
//
// autocannon's own latency histogram keeps whole milliseconds (0.3 ms reads as 0), so every
// response's latency is recorded here in integer µs from its `response` event: in autocannon 8
// `responseTime` is process.hrtime-based fractional milliseconds, measured from just before the
// request is written to the socket until its response is parsed.
//
// autocannon's coordinated-omission "correction" adds synthetic 1 ms-spaced samples that make
// latency look better. It only runs when a connection or overall rate is set, and autocannon 8
// refuses `ignoreCoordinatedOmission: true` without one ("makes no sense without connectionRate or
// overallRate"), so this driver sets no rate and the correction never runs; our own histogram is
// separate from autocannon's anyway. The closed model under-reports stalls by design: the open
// driver is the one that measures them.
import { HTTPParser } from 'http-parser-js'
import { EventEmitter } from 'node:events'
import autocannon from 'autocannon'
import type { Client, Instance, Request as AutocannonRequest, Result as AutocannonResult } from 'autocannon'
import { DriverError } from '../../errors.ts'
import type { HistogramFactory } from '../../stats/recorder.ts'
import { TrialMeter, classifyFailure } from './meter.ts'
import type { Driver, DriverOptions, DriverOutcome, RequestSpec } from './types.ts'

export interface ClosedDriverOptions {
  createHistogram?: HistogramFactory
  /**
   * How often autocannon checks whether it was told to stop: its stop() only sets a flag, and
   * its clients keep sending until the next sample tick destroys them. Its default (1 s) would let
   * it run up to a second past the end of a trial or an abort; at 100 ms, the side-by-side slots
   * of `ab` left each target under unmeasured load for up to 100 ms after every 500 ms slot
   * (measured: the target's CPU per measured second was 1.17, not ≤ 1, and the next arm's first
   * slot milliseconds shared the core with it). 10 ms keeps that tail to about 2% of a slot.
   */
  stopPollMs?: number
}

/** autocannon's per-client request builder: request data in, the wire bytes out. */
type RequestBuilder = (reqData: Partial<AutocannonRequest>, context: unknown) => Buffer | null

/**
 * A spec that is frozen, headers included, cannot change between sends, so the bytes built for it
 * once serve every later send of the same object (health, token and other one-spec scenarios).
 */
function isImmutableSpec(spec: RequestSpec): boolean {
  return Object.isFrozen(spec) && (spec.headers === undefined || Object.isFrozen(spec.headers))
}

/** autocannon keeps no reference from a response to the request that produced it: this does. */
interface ClientSpecs {
  queue: RequestSpec[]
  /** The spec built while autocannon constructed the client, before it was handed to us. */
  constructionSpec: RequestSpec | undefined
}

export class ClosedDriver extends EventEmitter implements Driver {
  readonly #createHistogram: HistogramFactory | undefined
  readonly #stopPollMs: number

  constructor(options: ClosedDriverOptions = {}) {
    super()
    this.#createHistogram = options.createHistogram
    this.#stopPollMs = options.stopPollMs ?? 10
  }

  run(options: DriverOptions): Promise<DriverOutcome> {
    const { load, signal } = options
    const meter = new TrialMeter(this, this.#createHistogram === undefined ? {} : { createHistogram: this.#createHistogram })
    if (signal?.aborted === true) {
      const outcome = meter.outcome(0, true)
      this.emit('done', outcome)
      return Promise.resolve(outcome)
    }
    // A scenario with one fixed frozen request (health, token) needs no spec tracking: autocannon
    // builds the request once and sends those bytes on every connection, exactly as its CLI does,
    // and every response belongs to that one spec. This keeps the harness's per-request cost at
    // autocannon's own plus the recording.
    const fixed = options.fixedRequest !== undefined && isImmutableSpec(options.fixedRequest) ? options.fixedRequest : undefined
    const specs = new SpecTracker(options.nextRequest)

    return new Promise<DriverOutcome>((resolve, reject) => {
      const measurement = new Measurement(meter, load, signal)
      const finish = (error: unknown, _result: AutocannonResult | undefined): void => {
        if (!measurement.finish()) return
        if (error !== null && error !== undefined) {
          reject(new DriverError(`autocannon failed: ${error instanceof Error ? error.message : String(error)}`, error))
          return
        }
        const outcome = meter.outcome(meter.measuredMs, measurement.aborted)
        this.emit('done', outcome)
        resolve(outcome)
      }
      let instance: Instance
      try {
        instance = this.#startAutocannon(options, fixed, specs, finish)
      } catch (error) {
        finish(error, undefined)
        return
      }
      measurement.instance = instance
      recordResponses(instance, meter, load, fixed, specs, measurement)
      measurement.schedule()
    })
  }

  /** autocannon with no rate of its own (see the top of this file), for as long as the trial may last. */
  #startAutocannon(options: DriverOptions, fixed: RequestSpec | undefined, specs: SpecTracker, finish: (error: unknown, result: AutocannonResult | undefined) => void): Instance {
    const load = options.load
    const plannedMs = load.warmupMs + load.durationMs
    const safetySeconds = load.durationMs > 0 ? plannedMs / 1000 + 30 : 3600
    return autocannon(
      {
        url: options.url,
        connections: load.connections,
        pipelining: load.pipelining,
        duration: safetySeconds,
        timeout: Math.max(1, Math.ceil(load.timeoutMs / 1000)),
        sampleInt: this.#stopPollMs,
        requests: fixed === undefined ? [{ setupRequest: specs.setupRequest }] : [fillRequest({}, fixed)],
        ...(fixed === undefined ? { setupClient: specs.setupClient } : fixed.method === 'HEAD' ? { setupClient: (client: Client) => skipHeadBodies(client, () => true) } : {})
      },
      finish
    )
  }
}

/** Each response and request error into the meter; the measurement ends at the request cap. */
function recordResponses(instance: Instance, meter: TrialMeter, load: DriverOptions['load'], fixed: RequestSpec | undefined, specs: SpecTracker, measurement: Measurement): void {
  instance.on('response', (client: Client, statusCode: number, resBytes: number, responseTimeMs: number) => {
    const spec = fixed ?? specs.specOfResponse(client)
    if (!meter.measuring) return
    meter.response(spec, statusCode, resBytes, responseTimeMs * 1000)
    if (load.maxRequests !== null && meter.requests >= load.maxRequests) measurement.end()
  })
  instance.on('reqError', (error: unknown) => {
    meter.failure(classifyFailure(error), error instanceof Error ? error.message : String(error))
    if (load.maxRequests !== null && meter.requests >= load.maxRequests) measurement.end()
  })
}

/** The trial's clock: warm-up, then the measured window, ended by its timer, the cap or an abort. */
class Measurement {
  aborted = false
  instance: Instance | undefined
  readonly #meter: TrialMeter
  readonly #load: DriverOptions['load']
  readonly #signal: AbortSignal | undefined
  readonly #timers: NodeJS.Timeout[] = []
  #finished = false
  readonly #onAbort = (): void => {
    this.aborted = true
    this.end()
  }

  constructor(meter: TrialMeter, load: DriverOptions['load'], signal: AbortSignal | undefined) {
    this.#meter = meter
    this.#load = load
    this.#signal = signal
  }

  /** Listens for the abort, warms up, then measures for the trial's duration. */
  schedule(): void {
    const load = this.#load
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (load.warmupMs > 0) this.#meter.warmup(load.warmupMs)
    this.#timers.push(
      setTimeout(() => {
        if (this.#meter.stopped) return
        this.#meter.start(load.durationMs, load.warmupMs)
        if (load.durationMs > 0) this.#timers.push(setTimeout(this.end, load.durationMs))
      }, load.warmupMs)
    )
  }

  readonly end = (): void => {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#meter.stop()
    this.instance?.stop()
  }

  /** The first call ends everything and returns true; later ones (autocannon may call back twice) false. */
  finish(): boolean {
    if (this.#finished) return false
    this.#finished = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.end()
    return true
  }
}

function fillRequest(request: Partial<AutocannonRequest>, spec: RequestSpec): Partial<AutocannonRequest> {
  request.method = spec.method
  request.path = spec.path
  // A copy: autocannon adds Content-Length to the headers object, and specs' headers are shared.
  request.headers = { ...spec.headers }
  request.body = spec.body ?? ''
  return request
}

/**
 * autocannon's client does not tell its parser that a request was a HEAD, as Node's own client
 * does, so it waits for the body a HEAD answer announces and the connection hangs until its
 * timeout. Its header callback is wrapped to say "no body" (http-parser-js's skipBody) for a HEAD.
 */
function skipHeadBodies(client: Client, isHead: () => boolean): void {
  // autocannon calls setupClient before it sets its own parser callbacks: wrap once it has.
  queueMicrotask(() => {
    const parser = (client as unknown as { parser?: Record<number, unknown> }).parser
    const original = parser?.[HTTPParser.kOnHeadersComplete]
    // Another autocannon version may parse differently: then HEAD answers are its own business.
    if (parser === undefined || typeof original !== 'function') return
    parser[HTTPParser.kOnHeadersComplete] = (info: unknown): number => {
      ;(original as (info: unknown) => unknown).call(parser, info)
      return isHead() ? 1 : 0
    }
  })
}

/** Which spec each request of each autocannon client was built from, so its response is judged by it. */
class SpecTracker {
  readonly #nextRequest: () => RequestSpec
  readonly #specsByClient = new WeakMap<Client, ClientSpecs>()
  // Set between a client's 'request' event and the setupRequest call autocannon makes right
  // after it, synchronously, for every request but a client's first.
  #pendingClient: Client | undefined
  #lastSpec: RequestSpec | undefined
  // With a setupRequest, autocannon rebuilds every request from scratch (two object spreads over
  // all its options, string joins, a Buffer): about 9 µs of CPU per request here, the largest
  // single cost in a profile of `run --scenario health`, against 0.2 µs for a prebuilt request.
  // The client's builder is wrapped so a spec it has built before is served from a cache; specs
  // that may change (not frozen) are still built per request.
  readonly #builtBySpec = new WeakMap<RequestSpec, Buffer>()

  constructor(nextRequest: () => RequestSpec) {
    this.#nextRequest = nextRequest
  }

  #takeSpec(): RequestSpec {
    const spec = this.#nextRequest()
    this.#lastSpec = spec
    if (this.#pendingClient !== undefined) {
      this.#specsByClient.get(this.#pendingClient)?.queue.push(spec)
      this.#pendingClient = undefined
    }
    return spec
  }

  readonly setupRequest = (request: AutocannonRequest): AutocannonRequest => fillRequest(request, this.#takeSpec()) as AutocannonRequest

  #cacheBuilds(client: Client): void {
    const iterator = (client as unknown as { requestIterator?: { requestBuilder?: RequestBuilder } }).requestIterator
    const build = iterator?.requestBuilder
    // Another autocannon version may build differently: then requests go the uncached way.
    if (iterator === undefined || typeof build !== 'function') return
    iterator.requestBuilder = (_reqData, context) => {
      const spec = this.#takeSpec()
      const cached = this.#builtBySpec.get(spec)
      if (cached !== undefined) return cached
      const bytes = build(fillRequest({}, spec), context)
      if (bytes !== null && isImmutableSpec(spec)) this.#builtBySpec.set(spec, bytes)
      return bytes
    }
  }

  readonly setupClient = (client: Client): void => {
    const specs: ClientSpecs = { queue: [], constructionSpec: this.#lastSpec }
    this.#specsByClient.set(client, specs)
    this.#cacheBuilds(client)
    // The oldest spec in flight is the one whose answer is being parsed.
    skipHeadBodies(client, () => specs.queue[0]?.method === 'HEAD')
    // 'request' is a real autocannon 8 client event its typings omit.
    ;(client as unknown as EventEmitter).on('request', () => {
      const made = (client as unknown as { reqsMade?: number }).reqsMade ?? 1
      if (made === 0 && specs.constructionSpec !== undefined) {
        specs.queue.push(specs.constructionSpec)
        specs.constructionSpec = undefined
      } else {
        this.#pendingClient = client
      }
    })
  }

  specOfResponse(client: Client): RequestSpec | undefined {
    const specs = this.#specsByClient.get(client)
    if (specs === undefined) return undefined
    // autocannon drops its in-flight queue when it destroys a timed-out connection; its queue
    // size after the response tells how many of ours are still genuinely in flight.
    const inFlight = (client as unknown as { pipelinedRequests?: { size(): number } }).pipelinedRequests?.size()
    if (inFlight !== undefined) {
      const stale = specs.queue.length - (inFlight + 1)
      if (stale > 0) specs.queue.splice(0, stale)
    }
    return specs.queue.shift()
  }
}

export function createClosedDriver(options: ClosedDriverOptions = {}): ClosedDriver {
  return new ClosedDriver(options)
}
