// Public types of the harness: the result file that `run` writes and `compare`, `ab` and the
// reporters read. Bump RESULT_SCHEMA_VERSION on any incompatible change; the JSON Schema in
// harness/result.schema.json must describe the same shape (a test checks a real file against it).

export const RESULT_SCHEMA_VERSION = 1

export type LoadModel = 'closed' | 'open'

/** Load settings of one scenario run. Units are in the names. */
export interface LoadSettings {
  model: LoadModel
  durationMs: number
  warmupMs: number
  /** Closed model: concurrent connections. Open model: the connection pool's size. */
  connections: number
  /** Closed model only. */
  pipelining: number
  /** Open model only: the target arrival rate, requests per second. */
  rateRps: number | null
  /** Stop after this many requests (closed model), null for duration only. */
  maxRequests: number | null
  timeoutMs: number
}

export interface EnvironmentFingerprint {
  nodeVersion: string
  platform: string
  arch: string
  osRelease: string
  cpuModel: string
  cpuCount: number
  totalMemBytes: number
  hostname: string
  gitCommit: string | null
  gitDirty: boolean | null
  /** The target's full config (secrets redacted), or null when run against an external --url. */
  targetConfig: Record<string, unknown> | null
  store: string | null
  cache: string | null
  preset: string | null
  /** How the target and generator were placed: e.g. {target: '0', generator: '1'} from taskset. */
  cpuPinning: { target: string | null; generator: string | null }
  driver: 'autocannon' | 'open' | 'k6'
}

/** Latency percentiles in integer microseconds, from the HDR histogram. */
export interface LatencySummaryUs {
  count: number
  min: number
  mean: number
  stdev: number
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
}

export interface TimelineRow {
  /** Seconds since the trial's measured phase started. */
  second: number
  requests: number
  errors: number
  p50Us: number
  p99Us: number
}

export interface ErrorCounts {
  /** Unexpected statuses, keyed by status code ("500", "429", ...). */
  byStatus: Record<string, number>
  timeouts: number
  /** Connection resets, refused connections and other socket errors. */
  resets: number
  other: number
}

/** Differences of the target's /metrics counters over the measured phase of a trial. */
export interface ServerSideDelta {
  cpuUserUs: number
  cpuSystemUs: number
  /** (user + sys CPU µs) / completed requests. Steadier than throughput on a noisy machine. */
  cpuUsPerRequest: number | null
  cacheHits: number
  cacheMisses: number
  cacheHitRate: number | null
  batchFlushes: number
  queueRejections: number
  poolWaits: number
  /** Every counter that changed, by metric name (with labels), for the curious. */
  counters: Record<string, number>
}

export type TrialValidity =
  | { state: 'valid' }
  | { state: 'invalid'; reason: string; code: 'ERROR_RATE' | 'CLIENT_LIMITED' | 'TARGET_CRASHED' | 'ABORTED' | 'NO_RESPONSES' }

export interface TrialResult {
  scenario: string
  /** 0-based index among this scenario's trials. */
  trial: number
  /** For A/B runs: which arm. */
  arm?: 'A' | 'B'
  startedAt: string
  durationMs: number
  requests: number
  /** Responses whose status the scenario expected. */
  successes: number
  errors: number
  errorRate: number
  throughputRps: number
  bytesRead: number
  /** Mean response body size in bytes. */
  meanResponseBytes: number
  latencyUs: LatencySummaryUs
  /** hdr-histogram-js encodeIntoCompressedBase64 of the µs histogram, so trials merge. */
  histogram: string
  errorsByKind: ErrorCounts
  statusCounts: Record<string, number>
  timeline: TimelineRow[]
  /** Open model only. */
  openModel?: {
    targetRps: number
    achievedRps: number
    scheduled: number
    sent: number
    /** Sends that left more than the lateness threshold after their intended time. */
    lateSends: number
    lateShare: number
    /** Intended sends skipped because no connection was free (counted, and in latency). */
    dropped: number
    eventLoopLagP99Ms: number
  }
  server: ServerSideDelta | null
  validity: TrialValidity
}

export interface ScenarioSummary {
  scenario: string
  trials: number
  validTrials: number
  /** Median over valid trials of per-trial throughput. */
  throughputRps: number
  /** Percentiles of the merged histogram of valid trials (never an average of percentiles). */
  latencyUs: LatencySummaryUs
  errorRate: number
  cpuUsPerRequest: number | null
  meanResponseBytes: number
  /** Merged histogram of valid trials, compressed base64. */
  histogram: string
}

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION
  tool: 'authbench'
  kind: 'run' | 'baseline' | 'ab' | 'phases'
  label: string
  createdAt: string
  environment: EnvironmentFingerprint
  load: Record<string, LoadSettings>
  scenarios: string[]
  trials: TrialResult[]
  summary: ScenarioSummary[]
  /** A calibration workload (raw HTTP) run beside the scenarios, to normalise across machines. */
  calibration: { throughputRps: number; cpuUsPerRequest: number | null } | null
  /** Set when the run stopped early: what happened. Trials done before it are kept. */
  aborted: { reason: string; code: string } | null
  /** Added by `compare` / `ab`. */
  comparison?: unknown
}
