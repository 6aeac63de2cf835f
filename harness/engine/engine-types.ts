// The engine's seams, as interfaces: a running target, a metrics scraper, a driver factory and a
// measured-window observer. A leaf module, so that the engine's collaborators (server metrics,
// the profiler, drivers) depend on these shapes and not on the engine that uses them.
import type { Driver } from './drivers/types.ts'
import type { Workload } from './drivers/registry.ts'
import type { LoadModel, ServerSideDelta } from '../types.ts'

/** A running target, however it was started. */
export interface TargetHandle {
  readonly url: string
  /** The target's process, when the harness started it (its tree gives CPU and RSS). */
  readonly pid?: number | null
  readonly cpuPinning: { target: string | null; generator: string | null }
  /** Settles when the target goes away on its own (never when `stop()` was asked for). */
  readonly exited: Promise<Error>
  stop(): Promise<void>
}

export type StartTarget = (signal: AbortSignal) => Promise<TargetHandle>

/** Scrapes /metrics; `delta` turns two snapshots into the trial's server-side figures. */
export interface MetricsScraper<S = unknown> {
  snapshot(url: string, signal?: AbortSignal): Promise<S>
  delta(before: S, after: S, completedRequests: number): ServerSideDelta
}

/** A fresh driver for a load model and what it runs (independent requests by default, or journeys). */
export type DriverFactory = (model: LoadModel, workload?: Workload) => Driver

export interface TrialRef {
  scenario: string
  trial: number
}

/**
 * Told where each trial's measured time lies (a profiler is one): `open` before the trial's first
 * measured request (after setup, warm-up, refill and the opening /metrics scrape), `slotStart` and
 * `slotEnd` around each measured slot (the whole measured window when there are no slots), `close`
 * after the closing scrape, on every path out. The slot calls sit inside the measured loop: keep
 * them synchronous and cheap. `open` and `close` are awaited and must not throw.
 */
export interface MeasurementWindowObserver {
  open(target: TargetHandle, trial: TrialRef): Promise<void>
  slotStart(target: TargetHandle): void
  slotEnd(target: TargetHandle): void
  close(target: TargetHandle, trial: TrialRef): Promise<void>
}
