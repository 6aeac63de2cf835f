// The journey driver: virtual users running a scenario's iterations (harness/journey.ts).
// - Closed model: `connections` VUs loop their iterations; with stages, VUs are added and retired
//   (after their current iteration) as the ramp moves (k6's ramping-vus).
// - Open model: iterations start at the arrival rate (constant, or ramping by stage), each on a
//   free VU; at most `maxInFlight` (--max-vus) run at once. One that finds no VU free waits in a
//   backlog only until its start deadline and is then DROPPED and counted, never started late
//   and silently: what was dropped would have been the slowest, so its trial's percentiles are
//   lower bounds, and past a share of them the engine judges it SERVER_SATURATED.
// Every step is recorded under its name, with the trial's totals, timeline and events through the
// same meter as the request drivers; per-step, per-group and per-iteration histograms beside it.
import { EventEmitter } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { StepFailure, defaultStepName } from '../../journey.ts'
import type { JourneyRuntime } from '../../journey.ts'
import { BadOptionError } from '../../errors.ts'
import { LatencyRecorder } from '../../stats/recorder.ts'
import type { ErrorCounts } from '../../types.ts'
import { classifyOpenModel, defaultMaxInFlight } from '../saturation.ts'
import { Vu } from './journey-vu.ts'
import type { VuHost } from './journey-vu.ts'
import { TrialMeter, generatorCpuUs, loopLagP99Ms } from './meter.ts'
import type { FailureKind } from './meter.ts'
import { ArrivalSchedule, levelAt, stagesDurationMs } from './schedule.ts'
import { createTransport } from './transport.ts'
import type { Transport, TransportAnswer } from './transport.ts'
import type { Driver, DriverOptions, DriverOutcome, JourneyOutcome, RequestSpec, StepOutcome } from './types.ts'

const LOOP_DELAY_RESOLUTION_MS = 10
const RAMP_TICK_MS = 50
const SPIN_BEFORE_DUE_MS = 1.5
const MAX_POLL_CREDIT_US = 50

/** A step's (or group's) counts as the run goes. */
class StepRecorder {
  readonly latency = new LatencyRecorder()
  readonly statusCounts: Record<string, number> = {}
  readonly errorsByKind: ErrorCounts = { byStatus: {}, timeouts: 0, resets: 0, other: 0 }
  requests = 0
  successes = 0
  errors = 0
  bytesRead = 0

  record(latencyUs: number, status: number | null, expected: boolean, bytes: number, failure: FailureKind | null): void {
    this.requests++
    this.bytesRead += bytes
    this.latency.record(latencyUs)
    if (status !== null) {
      const key = String(status)
      this.statusCounts[key] = (this.statusCounts[key] ?? 0) + 1
      if (!expected) this.errorsByKind.byStatus[key] = (this.errorsByKind.byStatus[key] ?? 0) + 1
    }
    if (failure === 'timeout') this.errorsByKind.timeouts++
    else if (failure === 'reset') this.errorsByKind.resets++
    else if (failure === 'other') this.errorsByKind.other++
    if (expected) this.successes++
    else this.errors++
  }

  outcome(): StepOutcome {
    return {
      requests: this.requests,
      successes: this.successes,
      errors: this.errors,
      bytesRead: this.bytesRead,
      histogram: this.latency.encode(),
      statusCounts: { ...this.statusCounts },
      errorsByKind: { ...this.errorsByKind, byStatus: { ...this.errorsByKind.byStatus } }
    }
  }
}

/**
 * A fixed or generated scenario as a one-step journey, for what only the journey driver does
 * (stages): each iteration sends the scenario's next request and nothing else.
 */
export function requestsAsJourney(nextRequest: () => RequestSpec): JourneyRuntime {
  return {
    data: undefined,
    stateOf: () => undefined,
    setState: () => undefined,
    iteration: async (vu) => {
      const spec = nextRequest()
      await vu.request({
        method: spec.method,
        path: spec.path,
        step: spec.tag ?? defaultStepName(spec.method, spec.path),
        expectedStatuses: spec.expectedStatuses,
        ...(spec.headers === undefined ? {} : { headers: spec.headers }),
        ...(spec.body === undefined ? {} : { body: spec.body })
      })
    }
  }
}

export class JourneyDriver extends EventEmitter implements Driver {
  run(options: DriverOptions): Promise<DriverOutcome> {
    const load = options.load
    if (load.model === 'open' && !(load.rateRps !== null && load.rateRps >= 0 && (load.rateRps > 0 || (load.stages ?? []).some((s) => s.target > 0))))
      return Promise.reject(new BadOptionError('the open model needs a rate (iterations per second) greater than 0'))
    const journey = options.journey ?? requestsAsJourney(options.nextRequest)
    return new Promise<DriverOutcome>((resolve) => {
      new JourneyRun(this, options, journey, (outcome) => {
        this.emit('done', outcome)
        resolve(outcome)
      }).start()
    })
  }
}

export function createJourneyDriver(): JourneyDriver {
  return new JourneyDriver()
}

/** One driver pass: VUs, the transport, and everything counted. */
class JourneyRun implements VuHost {
  readonly #options: DriverOptions
  readonly #journey: JourneyRuntime
  readonly #done: (outcome: DriverOutcome) => void
  readonly #meter: TrialMeter
  readonly #transport: Transport
  readonly #open: boolean
  readonly #maxVus: number
  readonly #stop = new AbortController()
  readonly #waiting: Array<() => void> = []
  readonly #steps = new Map<string, StepRecorder>()
  readonly #groups = new Map<string, StepRecorder>()
  readonly #checks = new Map<string, { passes: number; failures: number }>()
  readonly #failures = new Map<string, number>()
  readonly #iterationLatency = new LatencyRecorder()
  readonly #iterations = { started: 0, completed: 0, failed: 0, dropped: 0 }
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  readonly #loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  readonly #iterationCount = new Map<number, number>()
  #active = 0
  #peakVus = 0
  #finished = false
  #aborted = false
  #t0 = 0
  #windowEndMs = 0
  readonly #timers: NodeJS.Timeout[] = []
  // Open model.
  #schedule: ArrivalSchedule | null = null
  #next = 0
  #lateSends = 0
  #completedInWindow = 0
  #startedInWindow = 0
  readonly #freeIds: number[] = []
  #nextId = 0
  readonly #backlog: Array<{ scheduledMs: number; measured: boolean }> = []
  #cpuAtStart: NodeJS.CpuUsage | null = null
  #cpuAtWindowEnd: NodeJS.CpuUsage | null = null
  #pollUs = 0
  #pollSince: number | null = null
  // Closed model: how many VUs should run now, and the numbers of those running.
  #targetVus = 0
  readonly #running = new Set<number>()
  #draining = false
  readonly #onAbort = (): void => {
    this.#aborted = true
    this.#finish()
  }

  constructor(emitter: EventEmitter, options: DriverOptions, journey: JourneyRuntime, done: (outcome: DriverOutcome) => void) {
    this.#options = options
    this.#journey = journey
    this.#done = done
    const load = options.load
    this.#open = load.model === 'open'
    this.#meter = new TrialMeter(emitter)
    const peakLevel = Math.max(load.connections, ...(load.stages ?? []).map((s) => s.target))
    this.#maxVus = this.#open ? Math.max(1, load.maxInFlight ?? defaultMaxInFlight(Math.max(load.rateRps ?? 0, peakLevel), load.connections)) : Math.max(1, Math.ceil(peakLevel))
    this.#transport = createTransport(new URL(options.url).origin, { connections: this.#maxVus, timeoutMs: load.timeoutMs, onCapacity: () => this.#drainWaiting() })
  }

  get signal(): AbortSignal {
    return this.#stop.signal
  }

  get #durationMs(): number {
    const stages = this.#options.load.stages
    return stages === undefined || stages.length === 0 ? this.#options.load.durationMs : stagesDurationMs(stages)
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
    const load = this.#options.load
    if (load.warmupMs > 0) this.#meter.warmup(load.warmupMs)
    this.#t0 = performance.now()
    if (this.#open) this.#startOpen()
    else this.#startClosed()
  }

  // ---- closed model ----------------------------------------------------------------------------

  #startClosed(): void {
    const load = this.#options.load
    const measureAt = load.warmupMs
    const endAt = measureAt + this.#durationMs
    // Without a warm-up the first iterations are measured: they start in this very turn.
    if (measureAt === 0) this.#beginMeasuring()
    else this.#timers.push(setTimeout(() => this.#beginMeasuring(), measureAt))
    this.#timers.push(setTimeout(() => this.#drain(), endAt))
    const ramp = (): void => {
      const sinceMs = performance.now() - this.#t0 - measureAt
      this.#targetVus = sinceMs < 0 ? load.connections : Math.round(levelAt(load.stages ?? [], load.connections, sinceMs))
      // The lowest free numbers first: VUs past the level retire, so numbers below it stay taken.
      for (let id = 0; this.#running.size < this.#targetVus && !this.#finished && !this.#draining; id++) if (!this.#running.has(id)) void this.#vuLoop(id)
    }
    ramp()
    if ((load.stages ?? []).length > 0) {
      const ticker = setInterval(ramp, RAMP_TICK_MS)
      this.#timers.push(ticker as unknown as NodeJS.Timeout)
    }
  }

  #beginMeasuring(): void {
    if (this.#meter.measuring || this.#finished) return
    this.#meter.start(this.#durationMs, this.#options.load.warmupMs)
    this.#loopDelay.reset()
    this.#cpuAtStart = process.cpuUsage()
  }

  /** One closed-model VU: iterations back to back until the ramp retires it or the run ends. */
  async #vuLoop(id: number): Promise<void> {
    this.#running.add(id)
    this.#vuStarted()
    const maxRequests = this.#options.load.maxRequests
    try {
      // A VU whose number is past the ramp's level retires, as k6's ramping-vus does.
      while (!this.#finished && !this.#draining && id < this.#targetVus) {
        if (maxRequests !== null && this.#meter.requests >= maxRequests) {
          this.#drain()
          break
        }
        await this.#iterate(id, this.#meter.measuring, null)
      }
    } finally {
      this.#active--
      this.#running.delete(id)
      if (this.#draining && this.#active === 0) this.#finish()
    }
  }

  /**
   * The window's end in the closed model: no iteration starts after it, and those running finish
   * (recorded: an iteration belongs to the window it started in, as in the open model) for at
   * most the request timeout, as k6's gracefulStop; the measured time runs until they have.
   */
  #drain(): void {
    if (this.#draining || this.#finished) return
    this.#draining = true
    this.#windowEndMs = performance.now()
    this.#cpuAtWindowEnd = process.cpuUsage()
    if (this.#active === 0) this.#finish()
    else this.#timers.push(setTimeout(() => this.#finish(), this.#options.load.timeoutMs))
  }

  #vuStarted(): void {
    this.#active++
    if (this.#active > this.#peakVus) this.#peakVus = this.#active
  }

  // ---- open model ------------------------------------------------------------------------------

  #startOpen(): void {
    const load = this.#options.load
    this.#schedule = new ArrivalSchedule(load.rateRps ?? 0, load.warmupMs, load.durationMs, load.stages)
    if (this.#schedule.total === 0) {
      this.#finish()
      return
    }
    this.#pump()
  }

  // As in the open request driver (open.ts): one wake-up starts every iteration already due, and
  // the last stretch before the next is polled, since timers fire late by a millisecond or more.
  #pump = (): void => {
    if (this.#pollSince !== null && this.#cpuAtStart !== null && this.#cpuAtWindowEnd === null)
      this.#pollUs += Math.min(MAX_POLL_CREDIT_US, (performance.now() - this.#pollSince) * 1000)
    this.#pollSince = null
    if (this.#finished) return
    const schedule = this.#schedule as ArrivalSchedule
    const now = performance.now()
    while (this.#next < schedule.total && this.#t0 + schedule.timeOfMs(this.#next) <= now) this.#due(this.#next++, now)
    if (this.#next >= schedule.total) {
      this.#endSchedule()
      return
    }
    const waitMs = this.#t0 + schedule.timeOfMs(this.#next) - performance.now()
    if (waitMs > SPIN_BEFORE_DUE_MS + 1) this.#timers.push(setTimeout(this.#pump, waitMs - SPIN_BEFORE_DUE_MS))
    else {
      this.#pollSince = performance.now()
      setImmediate(this.#pump)
    }
  }

  #due(index: number, now: number): void {
    const schedule = this.#schedule as ArrivalSchedule
    const scheduledMs = this.#t0 + schedule.timeOfMs(index)
    const measured = index >= schedule.firstMeasured
    if (measured) {
      if (!this.#meter.measuring) this.#beginMeasuring()
      this.#iterations.started++
      if (now - scheduledMs > 1) this.#lateSends++
    }
    const backlog = this.#backlog
    while (backlog.length > 0 && now - (backlog[0] as { scheduledMs: number }).scheduledMs > this.#startDeadlineMs) this.#drop(backlog.shift() as { measured: boolean })
    if (backlog.length === 0 && this.#active < this.#maxVus) this.#startOpenIteration(scheduledMs, measured)
    else if (backlog.length < this.#maxVus) backlog.push({ scheduledMs, measured })
    else this.#drop({ measured })
  }

  /** As the open request driver's: 10 ms, or two intervals at the highest rate of the schedule. */
  get #startDeadlineMs(): number {
    const load = this.#options.load
    const peakRate = Math.max(load.rateRps ?? 0, ...(load.stages ?? []).map((s) => s.target))
    return Math.max(10, 2000 / Math.max(1, peakRate))
  }

  #drop(item: { measured: boolean }): void {
    if (item.measured) this.#iterations.dropped++
  }

  #startOpenIteration(scheduledMs: number, measured: boolean): void {
    const id = this.#freeIds.pop() ?? this.#nextId++
    this.#vuStarted()
    if (measured && this.#inWindow(performance.now())) this.#startedInWindow++
    void this.#iterate(id, measured, scheduledMs).finally(() => {
      this.#active--
      this.#freeIds.push(id)
      if (this.#finished) return
      this.#fromBacklog()
      this.#maybeFinish()
    })
  }

  #fromBacklog(): void {
    const now = performance.now()
    while (this.#backlog.length > 0 && this.#active < this.#maxVus) {
      const item = this.#backlog.shift() as { scheduledMs: number; measured: boolean }
      if (now - item.scheduledMs > this.#startDeadlineMs) this.#drop(item)
      else this.#startOpenIteration(item.scheduledMs, item.measured)
    }
  }

  #inWindow(ms: number): boolean {
    const start = this.#t0 + this.#options.load.warmupMs
    return ms >= start && ms <= start + this.#durationMs
  }

  #endSchedule(): void {
    if (this.#windowEndMs !== 0) return
    this.#windowEndMs = this.#t0 + (this.#schedule as ArrivalSchedule).endMs
    this.#cpuAtWindowEnd = process.cpuUsage()
    // Iterations due inside the window may finish; those still running at the timeout are cut.
    this.#timers.push(setTimeout(() => this.#finish(), this.#options.load.timeoutMs))
    this.#maybeFinish()
  }

  #maybeFinish(): void {
    if (this.#windowEndMs !== 0 && this.#active === 0 && this.#backlog.length === 0) this.#finish()
  }

  // ---- one iteration ---------------------------------------------------------------------------

  async #iterate(id: number, measured: boolean, scheduledMs: number | null): Promise<void> {
    const iteration = this.#iterationCount.get(id) ?? 0
    this.#iterationCount.set(id, iteration + 1)
    if (measured && scheduledMs === null) this.#iterations.started++
    const startMs = scheduledMs ?? performance.now()
    const journey = this.#journey
    const vu = new Vu(this, { id, iteration, data: journey.data, state: journey.stateOf(id), measured, dueMs: scheduledMs })
    let failure: string | null = null
    try {
      await journey.iteration(vu)
    } catch (error) {
      if (error instanceof StepFailure) failure = `${error.step}: ${error.kind === 'status' ? error.reason : error.kind}`
      else if (!this.#finished) {
        // The scenario's own code threw: its bug, not the target's answer. The engine stops the run.
        this.#options.onScenarioError?.(`iteration threw after step ${vu.lastStep}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
        failure = `${vu.lastStep}: the iteration threw`
      }
    }
    journey.setState(id, vu.state)
    if (!measured || this.#finished) return
    const endMs = performance.now()
    // Finished inside the window, failed or not: what the target kept up with (the open model's completed rate).
    if (this.#inWindow(endMs) || !this.#open) this.#completedInWindow++
    if (failure === null) {
      this.#iterations.completed++
      this.#iterationLatency.record((endMs - startMs) * 1000)
    } else {
      this.#iterations.failed++
      this.#failures.set(failure, (this.#failures.get(failure) ?? 0) + 1)
    }
  }

  // ---- VuHost ----------------------------------------------------------------------------------

  send(request: Parameters<VuHost['send']>[0], keepBody: boolean): Promise<TransportAnswer> {
    return new Promise<TransportAnswer>((resolve, reject) => {
      const go = (): void => {
        if (this.#finished) {
          reject(Object.assign(new Error('the run has ended'), { code: 'UND_ERR_DESTROYED' }))
          return
        }
        try {
          this.#transport.send(request, {
            keepBody,
            onAnswer: (answer) => {
              resolve(answer)
              this.#drainWaiting()
            },
            onError: (error) => {
              reject(error)
              this.#drainWaiting()
            }
          })
        } catch (error) {
          reject(error as Error)
        }
      }
      if (this.#waiting.length === 0 && this.#transport.canSend()) go()
      else this.#waiting.push(go)
    })
  }

  #drainWaiting(): void {
    while (this.#waiting.length > 0 && (this.#finished || this.#transport.canSend())) (this.#waiting.shift() as () => void)()
  }

  recordStep(step: string, latencyUs: number, status: number | null, expected: boolean, bytes: number, failure: FailureKind | null): void {
    if (!this.#meter.measuring) return
    let recorder = this.#steps.get(step)
    if (recorder === undefined) this.#steps.set(step, (recorder = new StepRecorder()))
    recorder.record(latencyUs, status, expected, bytes, failure)
    if (status === null) this.#meter.failure(failure ?? 'other', `step ${step} failed`)
    else this.#meter.answer(status, expected, bytes, latencyUs, step)
  }

  recordGroup(group: string, durationUs: number): void {
    if (!this.#meter.measuring) return
    let recorder = this.#groups.get(group)
    if (recorder === undefined) this.#groups.set(group, (recorder = new StepRecorder()))
    recorder.record(durationUs, null, true, 0, null)
  }

  recordCheck(name: string, passed: boolean): void {
    if (!this.#meter.measuring) return
    let counts = this.#checks.get(name)
    if (counts === undefined) this.#checks.set(name, (counts = { passes: 0, failures: 0 }))
    if (passed) counts.passes++
    else counts.failures++
  }

  sleep(ms: number): Promise<void> {
    if (this.#finished || ms <= 0) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry)
          resolve()
        }, ms),
        resolve
      }
      this.#sleeps.add(entry)
    })
  }

  // ---- the end ---------------------------------------------------------------------------------

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#windowEndMs === 0) this.#windowEndMs = performance.now()
    this.#cpuAtWindowEnd ??= process.cpuUsage()
    for (const timer of this.#timers) clearTimeout(timer)
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    this.#meter.stop()
    this.#loopDelay.disable()
    // Sleeping VUs wake to a finished run, and whatever is in flight fails uncounted.
    for (const entry of this.#sleeps) {
      clearTimeout(entry.timer)
      entry.resolve()
    }
    this.#sleeps.clear()
    this.#stop.abort()
    this.#drainWaiting()
    this.#transport.destroy().catch(() => {})
    const windowMs = this.#meter.startedAtMs === 0 ? 0 : Math.max(0, this.#windowEndMs - (this.#t0 + this.#options.load.warmupMs))
    const durationMs = this.#open ? windowMs : this.#meter.measuredMs
    this.#done(this.#meter.outcome(durationMs, this.#aborted, { ...(this.#open ? { openModel: this.#openFigures(windowMs) } : {}), journey: this.#journeyOutcome() }))
  }

  #journeyOutcome(): JourneyOutcome {
    const outcomes = (map: Map<string, StepRecorder>): Record<string, StepOutcome> => Object.fromEntries([...map].map(([name, r]) => [name, r.outcome()]))
    return {
      iterations: { ...this.#iterations, histogram: this.#iterationLatency.encode() },
      failures: Object.fromEntries(this.#failures),
      steps: outcomes(this.#steps),
      groups: outcomes(this.#groups),
      checks: Object.fromEntries([...this.#checks].map(([name, c]) => [name, { ...c }])),
      peakVus: this.#peakVus
    }
  }

  /** The open model's figures, in iterations: what the engine's saturation judgement reads. */
  #openFigures(windowMs: number): NonNullable<DriverOutcome['openModel']> {
    const windowS = windowMs / 1000
    const scheduled = this.#iterations.started
    const cpuUs = generatorCpuUs(this.#cpuAtStart, this.#cpuAtWindowEnd ?? process.cpuUsage(), this.#pollUs)
    const figures = {
      targetRps: windowS > 0 ? Math.round((scheduled / windowS) * 1000) / 1000 : 0,
      achievedRps: windowS > 0 ? this.#startedInWindow / windowS : 0,
      completedRps: windowS > 0 ? this.#completedInWindow / windowS : 0,
      scheduled,
      sent: scheduled - this.#iterations.dropped,
      lateSends: this.#lateSends,
      lateShare: scheduled > 0 ? this.#lateSends / scheduled : 0,
      dropped: this.#iterations.dropped,
      eventLoopLagP99Ms: loopLagP99Ms(this.#loopDelay, LOOP_DELAY_RESOLUTION_MS),
      maxInFlight: this.#maxVus,
      peakInFlight: this.#peakVus,
      generatorCpuShare: windowMs > 0 ? Math.round((cpuUs / (windowMs * 1000)) * 1000) / 1000 : 0
    }
    return { ...figures, limitedBy: classifyOpenModel(figures).limitedBy }
  }
}
