// The target's side of a trial: snapshots before and after the measured window of its process
// tree's CPU time and RSS (harness/engine/process-usage.ts) and of its optional Prometheus endpoint, and
// their difference: CPU µs per request, RSS, and the increase of the counters its definition names.
//
// The parser is our own, on purpose: we only need sample lines (name, labels, value) of the text
// exposition format, and the one npm parser (parse-prometheus-text-format) is untyped and has not
// been released since 2018. Histogram buckets and summaries' quantiles are kept as plain samples.
import { requestTo } from './tls.ts'
import { MetricsError } from '../errors.ts'
import type { CounterDefinition, TargetDefinition } from '../api.ts'
import type { MetricsScraper, TargetHandle } from './engine-types.ts'
import { readProcessUsage } from './process-usage.ts'
import type { ProcessUsage } from './process-usage.ts'
import type { CounterInfo, ServerSideDelta } from '../types.ts'

export interface MetricsSnapshot {
  takenAtMs: number
  /** Value by series key: the metric name, then its labels sorted by name, e.g. a{b="1"}. */
  samples: Map<string, number>
  /** Declared TYPE by metric family name (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>
}

/** Prometheus's standard process counters, used for CPU when the process tree cannot be read (a --url target). */
export const PROCESS_CPU_METRICS = {
  cpuUser: 'process_cpu_user_seconds_total',
  cpuSystem: 'process_cpu_system_seconds_total'
} as const

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?\s*$/
const LABEL_PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy

export function parsePrometheusText(text: string, takenAtMs = Date.now()): MetricsSnapshot {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    if (line.startsWith('#')) {
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line)
      if (type?.[1] !== undefined && type[2] !== undefined) types.set(type[1], type[2])
      continue
    }
    const match = SAMPLE_LINE.exec(line)
    if (match === null) throw new MetricsError(`unparseable /metrics line: ${line.slice(0, 120)}`)
    const name = match[1] as string
    const labels = parseLabels(match[2] ?? '', line)
    const value = parseValue(match[3] as string, line)
    samples.set(seriesKey(name, labels), value)
  }
  return { takenAtMs, samples, types }
}

function parseLabels(block: string, line: string): Array<[string, string]> {
  if (block === '') return []
  const inner = block.slice(1, -1)
  const labels: Array<[string, string]> = []
  LABEL_PAIR.lastIndex = 0
  while (LABEL_PAIR.lastIndex < inner.length) {
    const start = LABEL_PAIR.lastIndex
    const pair = LABEL_PAIR.exec(inner)
    if (pair === null) {
      if (inner.slice(start).trim() === '') break
      throw new MetricsError(`unparseable labels in /metrics line: ${line.slice(0, 120)}`)
    }
    const value = (pair[2] as string).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))
    labels.push([pair[1] as string, value])
  }
  return labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

// Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case
// (prom-client writes "Nan" for a gauge with no samples yet, e.g. the event-loop lag right after
// the previous scrape reset it).
function parseValue(text: string, line: string): number {
  const lower = text.toLowerCase()
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Number.POSITIVE_INFINITY
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY
  if (lower === 'nan') return Number.NaN
  const value = Number(text)
  if (Number.isNaN(value)) throw new MetricsError(`bad value in /metrics line: ${line.slice(0, 120)}`)
  return value
}

export function seriesKey(name: string, labels: ReadonlyArray<readonly [string, string]> = []): string {
  if (labels.length === 0) return name
  return `${name}{${labels.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`
}

/** Sums the series of several processes' snapshots (a target run as several instances). */
export function sumSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  let takenAtMs = 0
  for (const snapshot of snapshots) {
    takenAtMs = Math.max(takenAtMs, snapshot.takenAtMs)
    for (const [key, value] of snapshot.samples) samples.set(key, (samples.get(key) ?? 0) + value)
    for (const [name, type] of snapshot.types) types.set(name, type)
  }
  return { takenAtMs, samples, types }
}

/** Sum of every series of one metric, whatever its labels. */
export function metricTotal(snapshot: MetricsSnapshot, name: string): number {
  let total = 0
  for (const [key, value] of snapshot.samples) {
    if ((key === name || key.startsWith(`${name}{`)) && Number.isFinite(value)) total += value
  }
  return total
}

function familyOf(name: string, types: Map<string, string>): { family: string; type: string | undefined } {
  if (types.has(name)) return { family: name, type: types.get(name) }
  for (const suffix of ['_total', '_count', '_sum', '_bucket', '_created']) {
    if (name.endsWith(suffix)) {
      const family = name.slice(0, -suffix.length)
      if (types.has(family)) return { family, type: types.get(family) }
    }
  }
  return { family: name, type: undefined }
}

/** Counters only: a gauge's difference (heap size, queue depth) says nothing about the trial. */
function isCounterSeries(key: string, types: Map<string, string>): boolean {
  const name = key.includes('{') ? key.slice(0, key.indexOf('{')) : key
  const { type } = familyOf(name, types)
  if (type === 'counter') return !name.endsWith('_created')
  if (type === 'histogram' || type === 'summary') return name.endsWith('_count') || name.endsWith('_sum')
  return type === undefined && name.endsWith('_total')
}

/** Sum of the series of one metric whose labels include all of `match`. */
function matchingTotal(snapshot: MetricsSnapshot, def: CounterDefinition): number {
  const wanted = Object.entries(def.match ?? {}).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
  if (wanted.length === 0) return metricTotal(snapshot, def.metric)
  let total = 0
  for (const [key, value] of snapshot.samples) {
    if (!key.startsWith(`${def.metric}{`) || !Number.isFinite(value)) continue
    const labels = key.slice(def.metric.length + 1, -1)
    if (wanted.every((w) => labels.split(',').includes(w))) total += value
  }
  return total
}

/**
 * The difference of two endpoint snapshots over the measured window: CPU from the standard
 * process_cpu_* counters, the declared counters by key, every changed counter series. A counter
 * that went down (the process restarted) counts from zero, as Prometheus's increase() does;
 * metrics the target does not export count as 0.
 */
export function computeServerDelta(
  before: MetricsSnapshot | readonly MetricsSnapshot[],
  after: MetricsSnapshot | readonly MetricsSnapshot[],
  completedRequests: number,
  counters: Readonly<Record<string, CounterDefinition>> = {}
): ServerSideDelta {
  const b = Array.isArray(before) ? sumSnapshots(before) : (before as MetricsSnapshot)
  const a = Array.isArray(after) ? sumSnapshots(after) : (after as MetricsSnapshot)
  const increase = (end: number, start: number): number => (end >= start ? end - start : end)
  const hasCpu = [...a.samples.keys()].some((k) => k === PROCESS_CPU_METRICS.cpuUser)
  const cpuUserUs = hasCpu ? Math.round(increase(metricTotal(a, PROCESS_CPU_METRICS.cpuUser), metricTotal(b, PROCESS_CPU_METRICS.cpuUser)) * 1e6) : null
  const cpuSystemUs = hasCpu ? Math.round(increase(metricTotal(a, PROCESS_CPU_METRICS.cpuSystem), metricTotal(b, PROCESS_CPU_METRICS.cpuSystem)) * 1e6) : null
  const declared: Record<string, number> = {}
  for (const [key, def] of Object.entries(counters)) declared[key] = roundCounter(increase(matchingTotal(a, def), matchingTotal(b, def)))
  const series: Record<string, number> = {}
  const types = new Map([...b.types, ...a.types])
  for (const [key, end] of a.samples) {
    if (!isCounterSeries(key, types) || !Number.isFinite(end)) continue
    const delta = increase(end, b.samples.get(key) ?? 0)
    if (delta !== 0) series[key] = roundCounter(delta)
  }
  return {
    cpuUserUs,
    cpuSystemUs,
    cpuUsPerRequest: perRequest(cpuUserUs, cpuSystemUs, completedRequests),
    cpuSource: hasCpu ? 'metrics' : null,
    rssBytes: null,
    counters: declared,
    series
  }
}

function perRequest(userUs: number | null, systemUs: number | null, completed: number): number | null {
  if (userUs === null || systemUs === null || completed <= 0) return null
  return Math.round(((userUs + systemUs) / completed) * 100) / 100
}

/** One snapshot of everything the harness reads from a target's side. */
export interface ServerSnapshot {
  process: ProcessUsage | null
  metrics: MetricsSnapshot | null
}

/** The process tree's CPU over the phase, when both ends were read. */
function processDelta(
  before: ProcessUsage | null,
  after: ProcessUsage | null,
  completed: number
): Pick<ServerSideDelta, 'cpuUserUs' | 'cpuSystemUs' | 'cpuUsPerRequest' | 'rssBytes'> | null {
  if (before === null || after === null) return null
  const cpuUs = Math.max(0, after.cpuUs - before.cpuUs)
  const userUs = Math.round(cpuUs * after.userShare)
  const systemUs = cpuUs - userUs
  return { cpuUserUs: userUs, cpuSystemUs: systemUs, cpuUsPerRequest: perRequest(userUs, systemUs, completed), rssBytes: after.rssBytes }
}

/** Labels of a target's declared counters, as results carry them. */
export function counterInfo(target: Pick<TargetDefinition, 'metrics'> | null): Record<string, CounterInfo> {
  return Object.fromEntries(Object.entries(target?.metrics?.counters ?? {}).map(([key, def]) => [key, { metric: def.metric, label: def.label ?? key }]))
}

/**
 * The one way the commands read a target's side. `track` learns the process behind a URL (a
 * target the harness started), whose tree gives CPU and RSS; the declared metrics endpoint, when
 * there is one, gives the counters (and CPU for a target started elsewhere, when it exports it).
 */
export function createServerMetrics(target: Pick<TargetDefinition, 'metrics'> | null): MetricsScraper<ServerSnapshot> & { track: (handle: TargetHandle) => TargetHandle } {
  const pids = new Map<string, number>()
  const path = target?.metrics?.path
  const counters = target?.metrics?.counters ?? {}
  return {
    track: (handle) => {
      if (handle.pid !== undefined && handle.pid !== null) pids.set(handle.url, handle.pid)
      return handle
    },
    snapshot: async (url, signal) => {
      const pid = pids.get(url)
      const [processUsage, metrics] = await Promise.all([
        pid === undefined ? null : readProcessUsage(pid),
        path === undefined ? null : scrapeMetrics(url, { path, ...(signal === undefined ? {} : { signal }) })
      ])
      return { process: processUsage, metrics }
    },
    delta: (before, after, completed) => {
      const fromMetrics = before.metrics !== null && after.metrics !== null ? computeServerDelta(before.metrics, after.metrics, completed, counters) : null
      const fromTree = processDelta(before.process, after.process, completed)
      return {
        ...(fromTree ?? {
          cpuUserUs: fromMetrics?.cpuUserUs ?? null,
          cpuSystemUs: fromMetrics?.cpuSystemUs ?? null,
          cpuUsPerRequest: fromMetrics?.cpuUsPerRequest ?? null,
          rssBytes: null
        }),
        cpuSource: fromTree !== null ? 'process-tree' : (fromMetrics?.cpuSource ?? null),
        counters: fromMetrics?.counters ?? Object.fromEntries(Object.keys(counters).map((k) => [k, 0])),
        series: fromMetrics?.series ?? {}
      }
    }
  }
}

// Float seconds counters subtract to values like 0.30000000000000004.
function roundCounter(value: number): number {
  return Math.round(value * 1e9) / 1e9
}

export interface ScrapeOptions {
  /** Default '/metrics'. */
  path?: string
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * GET /metrics on its own connection (agent: false), so a scrape never queues behind the load
 * driver's requests and never reuses its sockets.
 */
export function scrapeMetrics(baseUrl: string, options: ScrapeOptions = {}): Promise<MetricsSnapshot> {
  const url = new URL(options.path ?? '/metrics', baseUrl)
  const timeoutMs = options.timeoutMs ?? 5000
  return new Promise<MetricsSnapshot>((resolve, reject) => {
    const req = requestTo(url, { method: 'GET', agent: false, timeout: timeoutMs, signal: options.signal }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', (error) => reject(new MetricsError(`reading ${url.href} failed: ${error.message}`, error)))
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new MetricsError(`${url.href} answered ${String(res.statusCode)}`))
          return
        }
        try {
          resolve(parsePrometheusText(Buffer.concat(chunks).toString('utf8')))
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)))
    req.on('error', (error) => reject(new MetricsError(`scraping ${url.href} failed: ${error.message}`, error)))
    req.end()
  })
}

/** Scrapes several processes (one URL each) at once; the engine sums them with computeServerDelta. */
export function scrapeAll(baseUrls: readonly string[], options: ScrapeOptions = {}): Promise<MetricsSnapshot[]> {
  return Promise.all(baseUrls.map((url) => scrapeMetrics(url, options)))
}
