// What both drivers count over a measured window, in one place, so the closed and open models
// report the same shape: statuses, errors by kind, the µs histogram, the per-second timeline,
// and the 'start' / 'response' / 'tick' / 'error' events displays subscribe to.
import type { EventEmitter } from 'node:events'
import { LatencyRecorder, TimelineRecorder } from '../../stats/recorder.ts'
import type { HistogramFactory } from '../../stats/recorder.ts'
import type { ErrorCounts, TimelineRow } from '../../types.ts'
import type { DriverOutcome, RequestSpec, ResponseEvent } from './types.ts'

export type FailureKind = 'timeout' | 'reset' | 'other'

export interface StartEvent {
  startedAtMs: number
  durationMs: number
  warmupMs: number
}

export interface WarmupEvent {
  startedAtMs: number
  warmupMs: number
}

export interface DriverErrorEvent {
  kind: FailureKind
  message: string
}

const RESET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

export function classifyFailure(error: unknown): FailureKind {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (RESET_CODES.has(code)) return 'reset'
  }
  const message = error instanceof Error ? error.message : String(error)
  if (/timed? ?out/i.test(message)) return 'timeout'
  if (/ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|other side closed/i.test(message)) return 'reset'
  return 'other'
}

export class TrialMeter {
  readonly #emitter: EventEmitter
  readonly #latency: LatencyRecorder
  readonly #timeline: TimelineRecorder
  readonly #statusCounts: Record<string, number> = {}
  readonly #errorsByKind: ErrorCounts = { byStatus: {}, timeouts: 0, resets: 0, other: 0 }
  #tickTimer: NodeJS.Timeout | undefined
  #startedAtMs = 0
  #stoppedAtMs = 0
  #measuring = false
  #stopped = false
  requests = 0
  successes = 0
  errors = 0
  bytesRead = 0

  constructor(emitter: EventEmitter, options: { createHistogram?: HistogramFactory } = {}) {
    this.#emitter = emitter
    const recorderOptions = options.createHistogram === undefined ? {} : { createHistogram: options.createHistogram }
    this.#latency = new LatencyRecorder(recorderOptions)
    this.#timeline = new TimelineRecorder(recorderOptions)
  }

  get measuring(): boolean {
    return this.#measuring
  }

  get stopped(): boolean {
    return this.#stopped
  }

  get startedAtMs(): number {
    return this.#startedAtMs
  }

  warmup(warmupMs: number): void {
    const event: WarmupEvent = { startedAtMs: Date.now(), warmupMs }
    this.#emitter.emit('warmup', event)
  }

  start(durationMs: number, warmupMs: number): void {
    if (this.#measuring || this.#stopped) return
    this.#measuring = true
    this.#startedAtMs = performance.now()
    const event: StartEvent = { startedAtMs: Date.now(), durationMs, warmupMs }
    this.#emitter.emit('start', event)
    this.#tickTimer = setInterval(() => {
      this.#tick()
    }, 1000)
  }

  response(spec: RequestSpec | undefined, status: number, bytes: number, latencyUs: number): boolean {
    return this.answer(status, spec !== undefined && spec.expectedStatuses.includes(status), bytes, latencyUs, spec?.tag)
  }

  /** An answer whose expectedness the caller already knows (a journey's step), under `tag`. */
  answer(status: number, expected: boolean, bytes: number, latencyUs: number, tag: string | undefined): boolean {
    if (!this.#measuring) return false
    const key = String(status)
    this.#statusCounts[key] = (this.#statusCounts[key] ?? 0) + 1
    this.requests++
    this.bytesRead += bytes
    if (expected) {
      this.successes++
    } else {
      this.errors++
      this.#errorsByKind.byStatus[key] = (this.#errorsByKind.byStatus[key] ?? 0) + 1
    }
    this.#latency.record(latencyUs)
    this.#timeline.response(latencyUs, !expected)
    if (this.#emitter.listenerCount('response') > 0) {
      const event: ResponseEvent = { latencyUs: Math.round(latencyUs), status, bytes, expected, tag }
      this.#emitter.emit('response', event)
    }
    return true
  }

  failure(kind: FailureKind, message: string): boolean {
    if (!this.#measuring) return false
    this.requests++
    this.errors++
    if (kind === 'timeout') this.#errorsByKind.timeouts++
    else if (kind === 'reset') this.#errorsByKind.resets++
    else this.#errorsByKind.other++
    this.#timeline.failure()
    // An EventEmitter throws on an 'error' nobody listens to: a display must not be required.
    if (this.#emitter.listenerCount('error') > 0) {
      const event: DriverErrorEvent = { kind, message }
      this.#emitter.emit('error', event)
    }
    return true
  }

  /** Ends the measured window; later responses are ignored. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer)
    if (!this.#measuring) return
    this.#measuring = false
    this.#stoppedAtMs = performance.now()
    if (this.#timeline.pendingRequests > 0) this.#tick()
  }

  get measuredMs(): number {
    if (this.#startedAtMs === 0) return 0
    const end = this.#stoppedAtMs === 0 ? performance.now() : this.#stoppedAtMs
    return end - this.#startedAtMs
  }

  outcome(durationMs: number, aborted: boolean, extra: Pick<DriverOutcome, 'openModel' | 'journey'> = {}): DriverOutcome {
    return {
      durationMs,
      requests: this.requests,
      successes: this.successes,
      errors: this.errors,
      bytesRead: this.bytesRead,
      histogram: this.#latency.encode(),
      statusCounts: { ...this.#statusCounts },
      errorsByKind: {
        byStatus: { ...this.#errorsByKind.byStatus },
        timeouts: this.#errorsByKind.timeouts,
        resets: this.#errorsByKind.resets,
        other: this.#errorsByKind.other
      },
      timeline: this.#timeline.rows(),
      ...(extra.openModel === undefined ? {} : { openModel: extra.openModel }),
      ...(extra.journey === undefined ? {} : { journey: extra.journey }),
      aborted
    }
  }

  #tick(): void {
    const row = this.#timeline.closeSecond()
    const event: TimelineRow = { second: row.second, requests: row.requests, errors: row.errors, p50Us: row.p50Us, p99Us: row.p99Us }
    this.#emitter.emit('tick', event)
  }
}

/** The loop-lag p99, ms: the histogram holds whole timer intervals (resolution included), not the lateness alone. */
export function loopLagP99Ms(loopDelay: { count: number; percentile(p: number): number }, resolutionMs: number): number {
  const lagMs = loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - resolutionMs) : 0
  return Math.round(lagMs * 1000) / 1000
}

/**
 * The generator's CPU µs (user + sys) between two readings, less the time its scheduler spent
 * polling before due sends: that polling burns CPU by design, and is not work the generator had to do.
 */
export function generatorCpuUs(start: NodeJS.CpuUsage | null, end: NodeJS.CpuUsage, pollUs: number): number {
  return start === null ? 0 : Math.max(0, end.user - start.user + (end.system - start.system) - pollUs)
}
