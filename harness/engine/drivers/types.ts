// The one shape both load drivers share. The engine picks a driver; displays and the recorder
// subscribe to its events and the driver knows nothing of the terminal.
import type { EventEmitter } from 'node:events'
import type { ErrorCounts, LoadSettings, TimelineRow, TrialResult } from '../../types.ts'
import type { RequestSpec } from '../../api.ts'
import type { JourneyRuntime } from '../../journey.ts'

export type { RequestSpec } from '../../api.ts'

export interface DriverOptions {
  /** Base URL of the target, e.g. http://127.0.0.1:3000 */
  url: string
  load: LoadSettings
  /** Called once per request to be sent; returns a fresh spec (per-request bodies and headers). */
  nextRequest: () => RequestSpec
  /**
   * The one frozen spec every send uses, when the scenario has a single fixed request. Lets the
   * closed driver give autocannon a static request (built once, no per-send callbacks); the open
   * driver may ignore it, since nextRequest returns the same spec.
   */
  fixedRequest?: RequestSpec
  /** Aborting stops the driver within a second; it then resolves with what it measured. */
  signal?: AbortSignal
  /** A journey's VUs and iteration (the journey driver); request drivers ignore it. */
  journey?: JourneyRuntime
  /**
   * Called when the scenario's own code threw (not the target's answer): the engine stops the run
   * as SCENARIO_FAILED. The journey driver calls it for an iteration that threw anything but a
   * step failure.
   */
  onScenarioError?: (message: string) => void
}

export interface ResponseEvent {
  latencyUs: number
  status: number
  bytes: number
  expected: boolean
  tag: string | undefined
}

/**
 * Events: 'start' ({ startedAtMs }), 'response' (ResponseEvent), 'tick' (TimelineRow: the row the trial's timeline keeps for each second measured),
 * 'error' ({ kind: 'timeout' | 'reset' | 'other', message }), 'done' (DriverOutcome).
 */
export interface Driver extends EventEmitter {
  run(options: DriverOptions): Promise<DriverOutcome>
}

/** What a driver measured over its measured window (warm-up excluded). */
export interface DriverOutcome {
  durationMs: number
  requests: number
  successes: number
  errors: number
  bytesRead: number
  /** The µs latency histogram, compressed base64 (hdr-histogram-js). */
  histogram: string
  statusCounts: Record<string, number>
  errorsByKind: ErrorCounts
  timeline: TimelineRow[]
  openModel?: TrialResult['openModel']
  /** Journey scenarios: per step, per group, per iteration, and the checks. */
  journey?: JourneyOutcome
  /** True when stopped by the signal before the planned end. */
  aborted: boolean
}

/** One step's (or group's) raw counts in a driver pass, as a trial's; the engine adds rates and summaries. */
export type StepOutcome = Pick<DriverOutcome, 'requests' | 'successes' | 'errors' | 'bytesRead' | 'histogram' | 'statusCounts' | 'errorsByKind'>

/** What the journey driver measured beyond the request totals. */
export interface JourneyOutcome {
  iterations: { started: number; completed: number; failed: number; dropped: number; histogram: string }
  /** Failed iterations by `<step>: <why>` (status 500, timeout, body is not JSON, …). */
  failures: Record<string, number>
  steps: Record<string, StepOutcome>
  groups: Record<string, StepOutcome>
  checks: Record<string, { passes: number; failures: number }>
  peakVus: number
}
