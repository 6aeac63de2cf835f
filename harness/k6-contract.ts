// What any authbench k6 script and the importer (harness/importers/k6.ts) agree on: the tag that marks
// measured traffic, the custom metric names and the trend statistics k6 must report. Imports
// nothing, so both k6 and Node load it.

/**
 * Tag put on every metric of the measured scenario (k6 scenario `tags`), so setup()'s token
 * issuing never counts as measured traffic. The importer reads the `{authbench:measure}`
 * sub-metrics; k6 only reports a sub-metric that a threshold names, hence MEASURED_SUBMETRICS.
 */
export const MEASURE_TAG = Object.freeze({ name: 'authbench', value: 'measure' })
export const MEASURE_SELECTOR = `{${MEASURE_TAG.name}:${MEASURE_TAG.value}}`

/** Built-in metrics whose measured-only sub-metric the importer reads. */
export const MEASURED_SUBMETRICS = Object.freeze({
  duration: `http_req_duration${MEASURE_SELECTOR}`,
  requests: `http_reqs${MEASURE_SELECTOR}`,
  checks: `checks${MEASURE_SELECTOR}`
})

/** Custom metrics the scripts emit (only from the measured scenario, or from setup where named so). */
export const K6_METRICS = Object.freeze({
  /** Counter: responses whose status the scenario did not expect (status ≠ 0). */
  unexpectedStatus: 'authbench_unexpected_status',
  /** Counter: requests that timed out (k6 error_code 1050). */
  timeouts: 'authbench_timeouts',
  /** Counter: other transport failures (status 0: refused, reset, DNS...). */
  transportErrors: 'authbench_transport_errors',
  /** Counter: response body bytes of measured requests. */
  responseBytes: 'authbench_response_bytes',
  /**
   * Gauge of Date.now() at each measured send and completion: max − min is the measured window.
   * k6's counter `rate` divides by the whole run, setup() included, so it is not throughput.
   */
  clockMs: 'authbench_clock_ms',
  /** Counter: measured requests sent after a consumable pool ran dry (they reuse a spent item). */
  poolExhausted: 'authbench_pool_exhausted',
  /** Counter (setup): tokens issued through the public API before measuring. */
  seeded: 'authbench_seeded',
  /** Counter (setup): time spent issuing tokens, ms (a counter, so several pools add up). */
  setupMs: 'authbench_setup_ms'
})

/**
 * Trend statistics requested from k6. p(99) and p(99.9) are here because k6 reports no
 * histogram: a percentile it was not asked for cannot be recovered afterwards.
 */
export const TREND_STATS: readonly string[] = Object.freeze(['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'])
