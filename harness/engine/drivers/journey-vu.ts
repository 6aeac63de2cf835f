// A virtual user as an iteration sees it (harness/journey.ts's VirtualUser): the client, checks,
// groups and think time, with every step's timing handed to the run that records it. In the open
// model a step's latency runs from when it was due: the iteration's scheduled start plus the
// service time and think time of the steps before it, so an iteration that started late (no VU was
// free) carries that lateness into every step, and a stall cannot hide behind a busy VU pool.
import { StepFailure, defaultStepName, drawThinkTimeMs, thinkTimeProblem } from '../../journey.ts'
import type { Checks, JourneyRequest, JourneyResponse, StepOptions, ThinkTime, VirtualUser } from '../../journey.ts'
import { HTTP_METHODS } from '../../api.ts'
import type { HttpMethod } from '../../api.ts'
import type { HeadersRecord, TransportAnswer } from './transport.ts'
import { classifyFailure } from './meter.ts'
import type { FailureKind } from './meter.ts'

/** What a VU needs from the run it belongs to. */
export interface VuHost {
  readonly signal: AbortSignal
  /** Sends one request; resolves with its answer, rejects with a network error. */
  send(request: { method: HttpMethod; path: string; headers?: Readonly<Record<string, string>>; body?: string }, keepBody: boolean): Promise<TransportAnswer>
  /** Records a step's answer (or its failure); `measured` iterations only. */
  recordStep(step: string, latencyUs: number, status: number | null, expected: boolean, bytes: number, failure: FailureKind | null): void
  recordGroup(group: string, durationUs: number): void
  recordCheck(name: string, passed: boolean): void
  /** Think time is slept through a timer the run can cancel when it stops. */
  sleep(ms: number): Promise<void>
}

const DEFAULT_EXPECTED = (status: number): boolean => status >= 200 && status < 400

class Response implements JourneyResponse {
  readonly status: number
  readonly body: Buffer
  readonly step: string
  readonly latencyUs: number
  readonly #headersOf: () => HeadersRecord
  #headers: HeadersRecord | null = null

  constructor(step: string, latencyUs: number, answer: TransportAnswer) {
    this.step = step
    this.latencyUs = latencyUs
    this.status = answer.status
    this.body = answer.body
    this.#headersOf = answer.headers
  }

  get headers(): HeadersRecord {
    this.#headers ??= this.#headersOf()
    return this.#headers
  }

  text(): string {
    return this.body.toString('utf8')
  }

  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T
    } catch {
      throw new StepFailure(this.step, 'body', `the body is not JSON (status ${this.status}, ${this.body.length} bytes)`)
    }
  }

  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()]
    return Array.isArray(value) ? value[0] : value
  }
}

/** One VU's run of one iteration; a fresh one per iteration keeps `iteration` and the clock simple. */
export class Vu implements VirtualUser<unknown, unknown> {
  readonly id: number
  readonly iteration: number
  readonly data: unknown
  state: unknown
  readonly #host: VuHost
  readonly #measured: boolean
  readonly #open: boolean
  /** Open model: when the next step is due (performance.now() ms). */
  #dueMs: number
  #groups: string[] = []
  #lastStep = '(start)'

  constructor(host: VuHost, init: { id: number; iteration: number; data: unknown; state: unknown; measured: boolean; dueMs: number | null }) {
    this.#host = host
    this.id = init.id
    this.iteration = init.iteration
    this.data = init.data
    this.state = init.state
    this.#measured = init.measured
    this.#open = init.dueMs !== null
    this.#dueMs = init.dueMs ?? 0
  }

  get signal(): AbortSignal {
    return this.#host.signal
  }

  get lastStep(): string {
    return this.#lastStep
  }

  /** When the iteration as a whole is due to have started (open model), for its own duration. */
  get dueMs(): number {
    return this.#dueMs
  }

  async request(request: JourneyRequest): Promise<JourneyResponse> {
    if (!(HTTP_METHODS as readonly string[]).includes(request.method))
      throw new TypeError(`request: method ${JSON.stringify(request.method)} is not one of ${HTTP_METHODS.join(', ')}`)
    if (typeof request.path !== 'string' || !request.path.startsWith('/')) throw new TypeError(`request: path ${JSON.stringify(request.path)} must start with /`)
    const step = this.#stepName(request.step ?? defaultStepName(request.method, request.path))
    this.#lastStep = step
    const { body, headers } = encodeBody(request.body, request.headers)
    if (request.method === 'HEAD' && body !== undefined) throw new TypeError(`step ${step}: a HEAD request has no body`)
    const sendMs = performance.now()
    const fromMs = this.#open ? this.#dueMs : sendMs
    let answer: TransportAnswer
    try {
      answer = await this.#host.send({ method: request.method, path: request.path, ...(headers === undefined ? {} : { headers }), ...(body === undefined ? {} : { body }) }, true)
    } catch (error) {
      const kind = classifyFailure(error)
      this.#record(step, (performance.now() - fromMs) * 1000, null, false, 0, kind)
      throw new StepFailure(step, kind, error instanceof Error ? error.message : String(error))
    }
    const doneMs = performance.now()
    const latencyUs = (doneMs - fromMs) * 1000
    // The next step is due after this one's own service time: lateness so far carries over.
    this.#dueMs += doneMs - sendMs
    const expected = request.expectedStatuses === undefined ? DEFAULT_EXPECTED(answer.status) : request.expectedStatuses.includes(answer.status)
    this.#record(step, latencyUs, answer.status, expected, answer.wireBytes, null)
    if (!expected) throw new StepFailure(step, 'status', `unexpected status ${answer.status}`)
    return new Response(step, latencyUs, answer)
  }

  get(path: string, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'GET', path, ...options })
  }

  head(path: string, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'HEAD', path, ...options })
  }

  delete(path: string, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'DELETE', path, ...options })
  }

  options(path: string, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'OPTIONS', path, ...options })
  }

  post(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'POST', path, body, ...options })
  }

  put(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'PUT', path, body, ...options })
  }

  patch(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse> {
    return this.request({ method: 'PATCH', path, body, ...options })
  }

  check(response: JourneyResponse, checks: Checks): boolean {
    let all = true
    for (const [name, predicate] of Object.entries(checks)) {
      let passed: boolean
      try {
        passed = predicate(response) === true
      } catch {
        passed = false
      }
      if (!passed) all = false
      if (this.#measured) this.#host.recordCheck(this.#groups.length === 0 ? name : `${this.#groups.join('/')}/${name}`, passed)
    }
    return all
  }

  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (typeof name !== 'string' || name === '' || name.includes('/')) throw new TypeError(`group(${JSON.stringify(name)}): a group's name is a non-empty string without /`)
    const startMs = this.#open ? this.#dueMs : performance.now()
    this.#groups.push(name)
    const full = this.#groups.join('/')
    try {
      return await fn()
    } finally {
      this.#groups.pop()
      if (this.#measured) this.#host.recordGroup(full, (performance.now() - startMs) * 1000)
    }
  }

  async sleep(time: ThinkTime): Promise<void> {
    const problem = thinkTimeProblem(time)
    if (problem !== null) throw new TypeError(problem)
    const ms = drawThinkTimeMs(time)
    // Think time is planned: the next step is due that much later, and a timer that fires late
    // is the generator's lateness, which stays in the next step's latency.
    this.#dueMs += ms
    await this.#host.sleep(ms)
  }

  fail(message: string): never {
    throw new StepFailure(this.#lastStep, 'fail', message)
  }

  #stepName(step: string): string {
    return this.#groups.length === 0 ? step : `${this.#groups.join('/')}/${step}`
  }

  #record(step: string, latencyUs: number, status: number | null, expected: boolean, bytes: number, failure: FailureKind | null): void {
    if (this.#measured) this.#host.recordStep(step, latencyUs, status, expected, bytes, failure)
  }
}

/** A body as sent: a string as is; anything else as JSON, with its content type unless one is given. */
function encodeBody(body: unknown, headers: Readonly<Record<string, string>> | undefined): { body: string | undefined; headers: Readonly<Record<string, string>> | undefined } {
  if (body === undefined || body === null) return { body: undefined, headers }
  if (typeof body === 'string') return { body, headers }
  if (Buffer.isBuffer(body)) return { body: body.toString('utf8'), headers }
  const hasType = headers !== undefined && Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')
  return { body: JSON.stringify(body), headers: hasType ? headers : { ...headers, 'content-type': 'application/json' } }
}
