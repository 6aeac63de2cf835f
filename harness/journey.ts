// The journey half of the public API: a scenario whose unit of work is an iteration of a virtual
// user (VU), an async function that sends requests through a client the harness gives it, reads
// their answers, checks them, and sleeps between them (k6's default function, Locust's task).
// Fixed and generated requests (harness/api.ts) stay the fast path; a journey is for what needs
// an earlier answer, a method per step, or think time. The engine runs journeys with its own driver
// (harness/engine/drivers/journey.ts), in the closed model (N VUs loop) and in the open model
// (iterations start at an arrival rate, at most --max-vus at once).
import type { HttpMethod, SetupContext } from './scenario-context.ts'

export { StepFailure } from './errors.ts'

/** A request a VU sends. `path` is the path and query; `body` a string, or any other value to send as JSON. */
export interface JourneyRequest {
  method: HttpMethod
  path: string
  headers?: Readonly<Record<string, string>>
  body?: unknown
  /** Options of the step (its name, its expected statuses). */
  step?: string
  /** Statuses that let the iteration go on; any other fails the step and ends the iteration. Default 200–399. */
  expectedStatuses?: readonly number[]
}

/** Per-request options of the client's shortcuts (`vu.get(path, options)`). */
export interface StepOptions {
  /**
   * The step's name: its figures in results, and `--slo 'step:<name>:p99<20ms'`. Default: the
   * method and the path without its query, with numeric and uuid-like segments written `:id`.
   */
  step?: string
  headers?: Readonly<Record<string, string>>
  /** Statuses that let the iteration go on; default 200–399. */
  expectedStatuses?: readonly number[]
}

/** An answer as a VU reads it. */
export interface JourneyResponse {
  readonly status: number
  /** Header names in lower case; a repeated header is a list. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: Buffer
  /** The step's name as recorded (after its group). */
  readonly step: string
  /** Latency as recorded for the step, µs (open model: from when the step was due). */
  readonly latencyUs: number
  /** The body as UTF-8 text. */
  text(): string
  /** The body parsed as JSON; a body that is not JSON fails the step (it is the target's answer that is wrong). */
  json<T = unknown>(): T
  /** One header's value (the first, when repeated), by case-insensitive name. */
  header(name: string): string | undefined
}

/**
 * Think time: a fixed number of ms, or a distribution. `exponential` is memoryless (Poisson
 * arrivals of the next action), `normal` is cut at 0 and at `maxMs` when given.
 */
export type ThinkTime =
  | number
  | { distribution: 'constant'; ms: number }
  | { distribution: 'uniform'; minMs: number; maxMs: number }
  | { distribution: 'exponential'; meanMs: number; maxMs?: number }
  | { distribution: 'normal'; meanMs: number; sdMs: number; maxMs?: number }

/** Named predicates on one response: `{ 'status is 201': (r) => r.status === 201 }`. */
export type Checks = Readonly<Record<string, (response: JourneyResponse) => boolean>>

/** What an iteration gets: the client, its checks, its state. */
export interface VirtualUser<State = Record<string, unknown>, Data = unknown> {
  /** This VU's number, from 0; stable for the whole trial. */
  readonly id: number
  /** This VU's iteration count so far (0 in its first). */
  readonly iteration: number
  /** What the journey's `setup` returned, shared by every VU (read-only by convention). */
  readonly data: Data
  /** This VU's own state, kept across its iterations (a token, a cookie, an id). */
  state: State
  /** Aborted when the run stops: long sleeps and custom waits should end with it. */
  readonly signal: AbortSignal
  request(request: JourneyRequest): Promise<JourneyResponse>
  get(path: string, options?: StepOptions): Promise<JourneyResponse>
  head(path: string, options?: StepOptions): Promise<JourneyResponse>
  delete(path: string, options?: StepOptions): Promise<JourneyResponse>
  options(path: string, options?: StepOptions): Promise<JourneyResponse>
  post(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse>
  put(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse>
  patch(path: string, body?: unknown, options?: StepOptions): Promise<JourneyResponse>
  /**
   * Runs each named predicate on `response`: a false (or a throw) counts a check failure under
   * that name and the iteration goes on. Returns true when all passed.
   */
  check(response: JourneyResponse, checks: Checks): boolean
  /** Steps sent inside `fn` are named `<name>/<step>`; the group's own duration is recorded too. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
  /** Waits the think time (which is not part of any step's latency). */
  sleep(time: ThinkTime): Promise<void>
  /** Ends this iteration as failed, counted under the current step with `message`. */
  fail(message: string): never
}

/** An iteration, as a scenario declares it. */
export type Iteration<State, Data> = (vu: VirtualUser<State, Data>) => Promise<void>

/** A journey: what every VU runs, with optional shared data and per-VU state. */
export interface JourneyDefinition<State = Record<string, unknown>, Data = unknown> {
  /** Once per trial, before any VU starts: seed through the target's API; the result is `vu.data`. */
  setup?: (ctx: SetupContext) => Promise<Data> | Data
  /** A VU's initial state, made once per VU. Default `{}`. */
  state?: (vu: { id: number; data: Data }) => State
  /** One iteration of one VU. */
  iteration: Iteration<State, Data>
}

/** The journey a trial runs: what the driver needs, with the types erased. */
export interface JourneyRuntime {
  readonly data: unknown
  /** Each VU's state, by VU id: kept by the scenario instance so it outlives one driver pass. */
  stateOf(id: number): unknown
  setState(id: number, state: unknown): void
  readonly iteration: Iteration<unknown, unknown>
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,})$/i

/** The default step name of a request: `GET /items/:id` for `GET /items/42?x=1`. */
export function defaultStepName(method: string, path: string): string {
  const bare = path.split('?')[0] ?? path
  return `${method} ${bare
    .split('/')
    .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
    .join('/')}`
}

/** Why `time` is not a think time, or null. */
export function thinkTimeProblem(time: unknown): string | null {
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0
  if (typeof time === 'number') return finite(time) ? null : `sleep(${time}): a think time is a number of ms ≥ 0`
  const t = time as Record<string, unknown> | null
  if (t === null || typeof t !== 'object') return `sleep(${String(time)}): give ms, or { distribution, ... }`
  switch (t.distribution) {
    case 'constant':
      return finite(t.ms) ? null : 'sleep: constant needs ms ≥ 0'
    case 'uniform':
      return finite(t.minMs) && finite(t.maxMs) && (t.minMs as number) <= (t.maxMs as number) ? null : 'sleep: uniform needs 0 ≤ minMs ≤ maxMs'
    case 'exponential':
      return finite(t.meanMs) && (t.maxMs === undefined || finite(t.maxMs)) ? null : 'sleep: exponential needs meanMs ≥ 0 (and maxMs ≥ 0 when given)'
    case 'normal':
      return finite(t.meanMs) && finite(t.sdMs) && (t.maxMs === undefined || finite(t.maxMs)) ? null : 'sleep: normal needs meanMs ≥ 0 and sdMs ≥ 0'
    default:
      return `sleep: unknown distribution ${JSON.stringify(t.distribution)} (constant, uniform, exponential, normal)`
  }
}

/** One draw of a think time, in ms; `random` gives uniform numbers in [0, 1). */
export function drawThinkTimeMs(time: ThinkTime, random: () => number = Math.random): number {
  if (typeof time === 'number') return time
  switch (time.distribution) {
    case 'constant':
      return time.ms
    case 'uniform':
      return time.minMs + random() * (time.maxMs - time.minMs)
    case 'exponential': {
      const x = -Math.log(1 - random()) * time.meanMs
      return time.maxMs === undefined ? x : Math.min(x, time.maxMs)
    }
    case 'normal': {
      // Box–Muller: two uniforms give one standard normal draw.
      const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
      const x = Math.max(0, time.meanMs + z * time.sdMs)
      return time.maxMs === undefined ? x : Math.min(x, time.maxMs)
    }
  }
}
