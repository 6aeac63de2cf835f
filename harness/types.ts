// Public types of the harness: the result file that `run` writes and `compare`, `ab` and the
// reporters read. Bump RESULT_SCHEMA_VERSION on any incompatible change; the JSON Schema in
// harness/result.schema.json must describe the same shape (a test checks a real file against it).

export const RESULT_SCHEMA_VERSION = 3

export type LoadModel = 'closed' | 'open'

/** Load settings of one scenario run. Units are in the names. */
export interface LoadSettings {
  model: LoadModel
  durationMs: number
  /** The least warm-up; it goes on until the target is steady (harness/engine/warmup.ts). */
  warmupMs: number
  /** The most warm-up (default: 10 s, or 10× warmupMs when less); equal to warmupMs for a fixed warm-up. */
  warmupMaxMs?: number
  /** Closed model: concurrent connections. Open model: the connection pool's size. */
  connections: number
  /** Closed model only. */
  pipelining: number
  /** Open model only: the target arrival rate, requests per second. */
  rateRps: number | null
  /** Stop after this many requests (closed model), null for duration only. */
  maxRequests: number | null
  /** Open model: bound on requests in flight (k6's maxVUs); absent for the default (harness/engine/saturation.ts). */
  maxInFlight?: number
  timeoutMs: number
  /**
   * Ramping (k6's ramping-vus and ramping-arrival-rate): from the start level (`connections` VUs,
   * or `rateRps`), each stage moves linearly to its `target` over its `durationMs`. The measured
   * window is the stages; the warm-up runs at the start level. Absent: a constant level.
   */
  stages?: readonly Stage[]
}

/** One stage of a ramp: reach `target` (VUs, or iterations or requests per second) over `durationMs`. */
export interface Stage {
  durationMs: number
  target: number
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
  /** The target's variant (`--variant`), `A=… B=…` for an A/B run, or null for its own defaults. */
  variant: string | null
  /** Values of the options the target declares (`--store postgres` → `{ store: 'postgres' }`). */
  targetOptions: Record<string, string>
  /** How the target and generator were placed: e.g. {target: '0', generator: '1'} from taskset. */
  cpuPinning: { target: string | null; generator: string | null }
  /** The load driver's registered name (harness/engine/drivers/registry.ts), or k6. */
  driver: string
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
  /** Seconds since the trial's measured window started. */
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

/** Differences of the target's /metrics counters over the measured window of a trial. */
/**
 * The target's side of a trial (schemaVersion 2): CPU time and RSS of its process tree, and the
 * increase of the counters its definition asked for. Version 1 had the reference target's
 * counters as fields of their own; reading a version-1 file turns them into `counters`.
 */
export interface ServerSideDelta {
  /** User and system CPU time over the measured window, µs; null when neither /proc nor the metrics endpoint told. */
  cpuUserUs: number | null
  cpuSystemUs: number | null
  /** (user + sys CPU µs) / completed requests. Steadier than throughput on a noisy machine. */
  cpuUsPerRequest: number | null
  /** Where the CPU time came from: the target's process tree, or its metrics endpoint's process_cpu_* counters. */
  cpuSource: 'process-tree' | 'metrics' | null
  /** Resident set size of the process tree at the end of the measured window, bytes; null when unknown. */
  rssBytes: number | null
  /** Increase over the measured window of each counter the target declared, by its key. */
  counters: Record<string, number>
  /** Every counter series of the metrics endpoint that changed, by metric name with labels, for the curious. */
  series: Record<string, number>
}

/** A declared counter as results carry it, so reports can label it without the config. */
export interface CounterInfo {
  metric: string
  label: string
}

export type TrialValidity =
  | { state: 'valid' }
  | { state: 'invalid'; reason: string; code: 'ERROR_RATE' | 'CLIENT_LIMITED' | 'SERVER_SATURATED' | 'TARGET_CRASHED' | 'SCENARIO_FAILED' | 'ABORTED' | 'NO_RESPONSES' }

export interface TrialResult {
  scenario: string
  /** 0-based index among this scenario's trials. */
  trial: number
  /**
   * For A/B runs: which arm. An A/B run is a variants run of exactly two variants, A and B, and
   * keeps the A/B words in its result: `arm` is its `variant`, `pair` its `round`.
   */
  arm?: 'A' | 'B'
  /** For interleaved A/B runs: the 0-based index of the A/B pair (the round) this trial belongs to. */
  pair?: number
  /** For multi-variant runs (`phases`): the variant this trial ran under, e.g. a preset name. */
  variant?: string
  /**
   * For multi-variant runs: the 0-based round. A round runs every variant once per scenario, next
   * to each other, so trials of one round pair up (as an A/B pair does).
   */
  round?: number
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
    /** Requests that actually left inside the measured window, per second (late ones included). */
    achievedRps: number
    /**
     * Responses that arrived inside the measured window, per second: the server's real throughput.
     * When the server cannot keep up this falls below the set rate while `achievedRps` may not.
     */
    completedRps?: number
    scheduled: number
    sent: number
    /** Sends that left more than the lateness threshold after their intended time. */
    lateSends: number
    lateShare: number
    /** Intended sends skipped because no connection was free (counted, and in latency). */
    dropped: number
    eventLoopLagP99Ms: number
    /** The bound on requests in flight at once (--max-in-flight); absent in results written before it. */
    maxInFlight?: number
    /** Most requests that were in flight at once. */
    peakInFlight?: number
    /** The generator's own CPU time (user + sys) over the measured window, as a share of one core. */
    generatorCpuShare?: number
    /**
     * Who limited the trial, from measured facts: 'none' (the offered rate was kept), 'server'
     * (sends found every in-flight slot taken while the generator had time to spare) or 'client'
     * (the generator's CPU or event loop could not keep the schedule).
     */
    limitedBy?: 'none' | 'server' | 'client'
  }
  server: ServerSideDelta | null
  /** What the scenario seeded for this trial through the public API (added by the engine). */
  setup?: {
    /** Tokens or one-time tokens issued for this trial (setup and top-up). */
    seeded: number
    setupMs: number
    /** Measured requests sent after a consumable pool ran dry (they reuse a spent item). */
    exhaustedRequests: number
    /** How long the warm-up ran, ms: its minimum, extended until the cost per request stopped falling (harness/engine/warmup.ts). */
    warmupMs?: number
  }
  validity: TrialValidity
  /** Journey scenarios: figures per step, per group and per iteration, and the checks. */
  journey?: JourneyFigures
  /**
   * True when work was dropped (sends or iterations that could not start within the in-flight
   * bound) while the target was slow: what was dropped would have been the slowest, so every
   * latency percentile of this trial is a lower bound.
   */
  latencyLowerBound?: boolean
  /**
   * Set on trials imported from another tool. Such a trial has no histogram (`histogram` is the
   * encoding of an empty one) and its `latencyUs` holds the tool's own percentiles, so
   * comparisons must use per-trial values for it, never merged histograms.
   */
  source?: 'k6'
  /** What k6 reported beyond the common schema; present when `source` is 'k6'. */
  k6?: K6TrialInfo
}

/** What part of a journey a compared series is: one step, or the iterations. */
export type SeriesPart = { scenario: string; kind: 'step'; step: string } | { scenario: string; kind: 'iterations' }

/** One step's (or group's) figures within a journey trial. */
export interface StepFigures {
  requests: number
  successes: number
  errors: number
  errorRate: number
  throughputRps: number
  latencyUs: LatencySummaryUs
  /** Encoded µs histogram (as TrialResult.histogram). */
  histogram: string
  statusCounts: Record<string, number>
  errorsByKind: ErrorCounts
}

/** Check counts, overall and by name. */
export interface CheckFigures {
  passes: number
  failures: number
  /** failures / (passes + failures); 0 when nothing was checked. */
  failureRate: number
  byName: Record<string, { passes: number; failures: number }>
}

export interface JourneyFigures {
  iterations: {
    /** Iterations due (open model) or begun (closed) inside the measured window. */
    started: number
    completed: number
    /** Ended by a failed step (an unexpected status, a network error, a body that is not JSON, vu.fail). */
    failed: number
    /** Open model: due but not started, because every VU (--max-vus) was busy past the start deadline. */
    dropped: number
    /** Completed iterations per second of the window. */
    throughputPerS: number
    /** Iteration duration, µs (open model: from its scheduled start). */
    latencyUs: LatencySummaryUs
    histogram: string
    /** Failed iterations by `<step>: <why>`, when any failed. */
    failures?: Record<string, number>
  }
  steps: Record<string, StepFigures>
  /** Group durations (`vu.group`); requests counts the group's runs. */
  groups: Record<string, StepFigures>
  checks: CheckFigures
  /** VUs: the most running at once. */
  peakVus: number
}

/** A k6 threshold, as declared in the script, and whether it held. */
export interface K6Threshold {
  metric: string
  expression: string
  passed: boolean
}

export interface K6TrialInfo {
  /** Which summary was read: `--summary-export`, handleSummary()'s data, or the v1 machine-readable one. */
  format: 'summary-export' | 'handle-summary' | 'machine-readable-v1'
  k6Version: string | null
  /** Every threshold with its outcome (`--summary-export` writes true for a FAILED one; inverted here). */
  thresholds: K6Threshold[]
  /** False when any threshold failed; null when the summary says nothing about thresholds. */
  thresholdsPassed: boolean | null
  /** Iterations the open model could not start for want of a free VU (k6 `dropped_iterations`). */
  droppedIterations: number
  /**
   * Fields of `latencyUs` that k6 did not report (stdev always; p99/p999 unless the script asked
   * for them in summaryTrendStats). They hold 0 and are not measurements.
   */
  latencyUnreported: Array<keyof LatencySummaryUs>
  /** Where the measured window came from: the scripts' clock gauge, the configured duration, k6's run duration, or count/rate. */
  durationSource: 'clock-gauge' | 'configured' | 'run-duration' | 'counter-rate'
  /**
   * k6-operator runners whose summaries make up this trial. With more than one, counts add up
   * but percentiles are the maximum over runners: an upper bound, since k6 gives no histogram to merge.
   */
  runners: number
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
  /** 'k6': latencyUs is the median of the trials' k6 percentiles (no histogram to merge). */
  source?: 'k6'
  /** No trial was valid: the figures are the invalid trials', shown, never judged. */
  figuresFromInvalidTrials?: boolean
  /** `--slo` objectives checked on this scenario's merged histogram (harness/stats/slo.ts). */
  slo?: SloResult[]
  /** Journeys: each step's summary, from the step's merged histograms (harness/stats/steps.ts). */
  steps?: Record<string, ScenarioSummary>
  /** Journeys: the iterations as a series (throughput in iterations/s, latency their durations). */
  iterations?: ScenarioSummary
  /** Journeys: check counts over the trials summarised. */
  checks?: CheckFigures
}

/** One service-level objective checked on a scenario's merged figures. */
export interface SloResult {
  /** As the user wrote it, e.g. "p99<20ms". */
  expression: string
  metric: string
  /** The journey step it bounds, when it bounds one. */
  step?: string
  /** The threshold in the metric's unit (µs for percentiles, a share for errors, req/s for throughput). */
  thresholdValue: number
  /** The measured value in the same unit; null when nothing was measured. */
  actual: number | null
  passed: boolean
  note?: string
}

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION
  tool: 'authbench'
  kind: 'run' | 'baseline' | 'ab' | 'variants'
  label: string
  createdAt: string
  environment: EnvironmentFingerprint
  load: Record<string, LoadSettings>
  scenarios: string[]
  trials: TrialResult[]
  summary: ScenarioSummary[]
  /** A calibration workload (raw HTTP) run beside the scenarios, to normalise across machines. */
  calibration: {
    /** The median of the slices' throughput. */
    throughputRps: number
    cpuUsPerRequest: number | null
    /** Each measured slice's throughput (absent in files from before slices). */
    samplesRps?: number[]
    /** (max − min) / median of the slices. */
    spread?: number
  } | null
  /** Set when the run stopped early: what happened. Trials done before it are kept. */
  aborted: { reason: string; code: string } | null
  /** The target's declared counters (trials' `server.counters` keys): metric and report label. */
  counters?: Record<string, CounterInfo>
  /** `ab` only: each arm as given, and the commit its code came from. */
  arms?: Record<'A' | 'B', AbArmInfo>
  /** Added by `compare` / `ab`. */
  comparison?: Comparison
  /** Set when the target was CPU-profiled during the run (`--profile`): the profiler costs throughput. */
  profile?: ProfileInfo
}

/** One arm of an A/B run: what `--a` / `--b` named, and the commit its code came from. */
export interface AbArmInfo {
  spec: string
  /** 'variant', 'config' or 'git'. */
  kind: string
  /** A git ref's own commit; for a variant or config arm the checkout's (null outside git). */
  commit: string | null
}

/** What a profiled run records about its profiles. */
export interface ProfileInfo {
  samplingIntervalUs: number
  /** Arms or presets that were profiled ('' for a plain run). */
  groups: string[]
  /** Folder with the .cpuprofile files, relative to result.json. */
  dir: string
  files: string[]
}

// ---------------------------------------------------------------------------------------------
// Comparison: what `compare` and `ab` add to a result (harness/stats/compare.ts builds it).

/** The figures a comparison judges. Units: throughput req/s, percentiles µs, CPU µs/request. */
export type MetricName = 'throughputRps' | 'p50Us' | 'p95Us' | 'p99Us' | 'errorRate' | 'cpuUsPerRequest' | 'checkFailureRate'

export type Verdict = 'regression' | 'improvement' | 'no-change' | 'inconclusive' | 'invalid'

/** Settings of a comparison, after defaults (harness/stats/verdict.ts) and the config file are merged. */
export interface CompareSettings {
  /**
   * Per-metric margin: relative (0.05 = ±5%) for every metric but errorRate, whose change is
   * absolute (0.002 = ±0.2 percentage points) because a baseline error rate is usually 0.
   */
  margins: Record<MetricName, number>
  /**
   * The margin on the good side, where it is not `margins`' (a change judged as a factor both ways:
   * across CPU models throughput is a regression below ×0.5, −50%, and an improvement above ×2, +100%).
   */
  improvementMargins?: Partial<Record<MetricName, number>>
  /** Metrics whose verdicts decide the overall verdict and the exit code. */
  gatedMetrics: MetricName[]
  /** Fewer valid trials (or pairs) than this on either side makes a metric invalid. */
  minTrials: number
  /** Invalid trials tolerated per scenario and side before the scenario is invalid. */
  maxInvalidTrials: number
  confidence: number
  resamples: number
  seed: number
  intervalMethod: 'bca' | 'percentile'
  /**
   * When true, a regression or improvement also needs the rank test (Mann-Whitney U, or
   * Wilcoxon signed-rank for A/B) at p < 1 − confidence, as benchstat does; otherwise the verdict
   * is inconclusive. Guards against the narrow bootstrap intervals of very few trials.
   */
  requireSignificance: boolean
}

/** How small a regression a comparison could have seen (computed in harness/stats/sensitivity.ts). */
export interface Sensitivity {
  /**
   * The smallest change in the bad direction this run could have called a regression, as a
   * positive magnitude in the change's unit (fraction for relative metrics, fraction points for
   * error rate); null when no change could have been (see `note`).
   */
  detectableChange: number | null
  /** Distance from the estimate to the interval's end on the bad side, in the change's unit. */
  halfWidth: number | null
  /**
   * True when the run could not have called a regression of twice the margin: its interval is
   * wider than the margin on the bad side, so it could say neither "no change" for an unchanged
   * metric nor "regression" for a change of twice the margin.
   */
  tooNoisy: boolean
  note?: string
}

export interface ChangeInterval {
  low: number
  high: number
  confidence: number
  method: 'bca' | 'percentile'
  resamples: number
}

export interface MetricComparison {
  metric: MetricName
  /** 'higher' for throughput, 'lower' for everything else. */
  better: 'higher' | 'lower'
  /** relative: current/baseline − 1; absolute: current − baseline (errorRate). */
  changeKind: 'relative' | 'absolute'
  /** Point estimates in the metric's unit, raw (not normalised), null when not measured. */
  baseline: number | null
  current: number | null
  /**
   * The change the verdict judges (normalised when `normalised`). compare: from the median of
   * per-trial values, or of merged histograms for percentiles. ab: the median per-pair change.
   */
  change: number | null
  interval: ChangeInterval | null
  /** Two-sided p of the rank test (Mann-Whitney U unpaired, Wilcoxon signed-rank paired). */
  pValue: number | null
  /** How far the change may go on the bad side before it can be a regression. */
  margin: number
  /** How far it may go on the good side before it can be an improvement, when not `margin`. */
  improvementMargin?: number
  verdict: Verdict
  gated: boolean
  /** True when the change was computed on values divided by each run's calibration workload. */
  normalised: boolean
  /** Why the verdict is invalid or inconclusive, or what else the reader should know. */
  note?: string
  /** The smallest change this run could have called a regression (harness/stats/sensitivity.ts). */
  sensitivity?: Sensitivity
}

export interface ScenarioComparison {
  scenario: string
  /** Set when this row is one step (or the iterations) of a journey, named `<scenario>/<step>`. */
  part?: SeriesPart
  /**
   * Valid trials of each side used. In A/B mode each complete valid pair gives one trial to each
   * side, so these equal `pairs` there.
   */
  baselineTrials: number
  currentTrials: number
  /** A/B mode: complete valid pairs compared, the unit of analysis. Absent in unpaired comparisons and older files. */
  pairs?: number
  invalidTrials: { baseline: number; current: number }
  verdict: Verdict
  metrics: MetricComparison[]
  /** Merged histograms of the valid trials of each side, compressed base64, for the spectrum chart. */
  baselineHistogram: string | null
  currentHistogram: string | null
  notes: string[]
}

export interface EnvironmentDifference {
  field: string
  baseline: string
  current: string
  /** Machine differences (CPU model, CPU count, Node version, or a calibration that moved past MACHINE_SPEED_TOLERANCE) trigger normalisation. */
  machine: boolean
}

export interface RunIdentity {
  label: string
  createdAt: string
  gitCommit: string | null
  /** File the run was read from, when it came from a file. */
  path: string | null
}

export interface Comparison {
  /** 'baseline': two runs, unpaired. 'ab': arms A (baseline) and B (current) of one interleaved run, paired. */
  mode: 'baseline' | 'ab'
  verdict: Verdict
  /** 0 no regression, 1 regression, 2 invalid data. */
  exitCode: 0 | 1 | 2
  /** The one-line verdict that `compare` prints and report.md starts with. */
  headline: string
  baseline: RunIdentity
  current: RunIdentity
  environment: {
    sameMachine: boolean
    differences: EnvironmentDifference[]
    /** Set when figures were divided by each run's calibration throughput / CPU. */
    normalisation: {
      metrics: MetricName[]
      baselineCalibrationRps: number | null
      currentCalibrationRps: number | null
      baselineCalibrationCpuUsPerRequest: number | null
      currentCalibrationCpuUsPerRequest: number | null
    } | null
  }
  method: {
    unitOfAnalysis: 'trial' | 'pair'
    /** How percentile intervals were computed; recorded so a reader need not guess. */
    percentileInterval: 'bootstrap-trials-merge-histograms' | 'paired-per-trial-percentiles'
    rankTest: 'mann-whitney-u' | 'wilcoxon-signed-rank'
  }
  settings: CompareSettings
  scenarios: ScenarioComparison[]
  /** Problems that concern the whole comparison (e.g. no common scenario). */
  notes: string[]
}

/** A comparison's figures and verdict, before its headline is written (harness/stats/compare.ts). */
export type Judgement = Omit<Comparison, 'headline'>
