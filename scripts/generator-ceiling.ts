// The open model's ceiling: the highest rate one core of load generator keeps on `health`, against
// what autocannon's closed model gets from the same target, side by side in each round.
// The target runs on core 0 and this process (the generator) on core 1. Per round: autocannon
// (the harness's closed driver) for a few seconds, then for each open-model transport a search for
// the highest rate whose trial the generator kept: the trial classified 'none' (no drops, no
// shortfall of completions past 5%, generator not busy) with no errors. The search
// doubles from --start-rate until a rate fails, then bisects to 2%.
// A step can fail on either side: the line says whether the generator was busy (client-limited) or
// the target (server-limited, with the target's CPU share from /proc). When the target is the limit,
// the kept rate is a lower bound of the generator's ceiling, and the second figure, autocannon's
// generator CPU per request over the open model's at the kept rate, says what one core of each
// can offer: at 1.0 the open model costs the generator what autocannon does.
//   node --import tsx scripts/generator-ceiling.ts [--rounds 3] [--duration-s 2] [--connections 32]
//     [--transports http1,undici] [--start-rate 8000] [--preset phase2]
//     [--url http://127.0.0.1:8089/ --pid <its pid>]
// --url drives a target already running on loopback instead of the reference target's health (any
// GET answered 200): to see the generator's own ceiling, give it a server cheaper per request than
// the generator, such as nginx with `return 200` pinned to core 0 (docs/testing.md, "Benchmark scripts").
import { readFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { ClosedDriver } from '../harness/engine/drivers/closed.ts'
import { OpenDriver } from '../harness/engine/drivers/open.ts'
import type { RequestSpec } from '../harness/engine/drivers/types.ts'
import { classifyOpenModel } from '../harness/engine/saturation.ts'
import { pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import type { LoadSettings } from '../harness/types.ts'
import { ENDPOINTS } from '../scenarios/catalog.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'duration-s': { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    transports: { type: 'string', default: 'http1,undici' },
    'start-rate': { type: 'string', default: '8000' },
    preset: { type: 'string', default: 'phase2' },
    url: { type: 'string' },
    pid: { type: 'string' }
  }
})
const rounds = Number(values.rounds)
const durationMs = Number(values['duration-s']) * 1000
const connections = Number(values.connections)
const startRate = Number(values['start-rate'])
const transports = (values.transports ?? '').split(',') as Array<'http1' | 'undici'>
for (const [name, v] of [
  ['rounds', rounds],
  ['duration-s', durationMs],
  ['connections', connections],
  ['start-rate', startRate]
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`)
}
for (const t of transports) if (t !== 'http1' && t !== 'undici') throw new Error(`--transports: unknown transport ${t}`)

const external = values.url === undefined ? null : new URL(values.url)
if (external !== null && !['127.', '[::1]', 'localhost'].some((p) => external.host.startsWith(p))) throw new Error(`--url must be a loopback address, not ${external.host}`)
if (external !== null && values.pid === undefined) throw new Error("--url needs --pid: the target's process, whose CPU time says who limited a step")
const health: RequestSpec = Object.freeze({
  method: 'GET',
  path: external === null ? ENDPOINTS.health.path : `${external.pathname}${external.search}`,
  expectedStatuses: Object.freeze([200])
})
const load = (overrides: Partial<LoadSettings>): LoadSettings => ({
  model: 'open',
  durationMs,
  warmupMs: 500,
  connections,
  pipelining: 1,
  rateRps: null,
  maxRequests: null,
  timeoutMs: 5_000,
  ...overrides
})

interface Step {
  kept: boolean
  line: string
  generatorCpuUsPerReq: number
  targetCpuShare: number
  limitedBy: string
}

/** The target's CPU time (user + sys, µs) from /proc: which side was busy at a failing step. */
async function targetCpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function closedRun(url: string): Promise<{ rps: number; cpuUsPerReq: number }> {
  const cpu0 = process.cpuUsage()
  const outcome = await new ClosedDriver().run({ url, load: load({ model: 'closed' }), nextRequest: () => health, fixedRequest: health })
  const cpu = process.cpuUsage(cpu0)
  // The warm-up's requests are not in the outcome but its CPU is: counted at the measured rate.
  const rps = outcome.successes / (outcome.durationMs / 1000)
  return { rps, cpuUsPerReq: (cpu.user + cpu.system) / ((rps * (durationMs + 500)) / 1000) }
}

/** Whether the generator kept `rateRps`, and what it measured. */
async function keeps(url: string, pid: number, transport: 'http1' | 'undici', rateRps: number): Promise<Step> {
  const target0 = await targetCpuUs(pid)
  const wall0 = performance.now()
  const outcome = await new OpenDriver({ transport }).run({ url, load: load({ rateRps }), nextRequest: () => health })
  const targetCpuShare = ((await targetCpuUs(pid)) - target0) / ((performance.now() - wall0) * 1000)
  const o = outcome.openModel
  if (o === undefined) throw new Error('the open driver gave no open-model figures')
  const verdict = classifyOpenModel(o)
  // Kept by the harness's own rule for a valid open-model trial (what `run` and `capacity` use):
  // nothing past 5% dropped or missing, and no busy generator. Late sends alone do not void a
  // trial (latency runs from the intended time), so their share is printed beside it.
  const kept = verdict.limitedBy === 'none' && outcome.errors === 0
  const generatorCpuUsPerReq = ((o.generatorCpuShare ?? 0) * 1e6) / Math.max(1, o.achievedRps)
  return {
    kept,
    generatorCpuUsPerReq,
    targetCpuShare,
    limitedBy: verdict.limitedBy,
    line: `${rateRps} req/s: completed ${(o.completedRps ?? 0).toFixed(0)}, late ${(o.lateShare * 100).toFixed(1)}%, dropped ${o.dropped}, generator CPU ${((o.generatorCpuShare ?? 0) * 100).toFixed(0)}%, lag p99 ${o.eventLoopLagP99Ms.toFixed(1)} ms, peak in flight ${o.peakInFlight ?? 0}, generator ${generatorCpuUsPerReq.toFixed(1)} CPU µs/req, target CPU ${(targetCpuShare * 100).toFixed(0)}%, errors ${outcome.errors} → ${kept ? 'kept' : `${verdict.limitedBy}-limited`}`
  }
}

interface Ceiling {
  keptRps: number
  atKept: Step | null
  firstFailed: Step | null
}

async function ceiling(url: string, pid: number, transport: 'http1' | 'undici'): Promise<Ceiling> {
  let lo = 0
  let hi = 0
  let atKept: Step | null = null
  let failed: Step | null = null
  const step = async (rate: number): Promise<boolean> => {
    const r = await keeps(url, pid, transport, rate)
    console.log(`    ${transport} ${r.line}`)
    if (r.kept) {
      lo = rate
      atKept = r
    } else {
      hi = rate
      failed = r
    }
    return r.kept
  }
  for (let rate = startRate; hi === 0 && rate <= 1_000_000; rate *= 2) await step(rate)
  while (hi > 0 && (hi - lo) / hi > 0.02) await step(Math.round((lo + hi) / 2))
  return { keptRps: lo, atKept, firstFailed: failed }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const generator = await pinGenerator()
console.log(
  `generator-ceiling: ${rounds} round(s), ${durationMs} ms trials, closed ${connections} connections, target on core 0, generator on core ${generator ?? 'any'}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
)
const target =
  external === null
    ? await startTarget({ ...referenceTarget({ LOG_LEVEL: 'warn', PRESET: values.preset as string }), pinCpus: generator === null ? null : 'auto' })
    : { url: external.origin, pid: Number(values.pid), stop: async () => undefined }
const ratios: Record<string, number[]> = Object.fromEntries(transports.map((t) => [t, []]))
const efficiency: Record<string, number[]> = Object.fromEntries(transports.map((t) => [t, []]))
const pid = target.pid ?? 0
try {
  await closedRun(target.url) // warm-up: JIT on both sides
  for (let round = 0; round < rounds; round++) {
    const closed = await closedRun(target.url)
    console.log(`round ${round + 1}: autocannon closed ${closed.rps.toFixed(0)} req/s at ${closed.cpuUsPerReq.toFixed(1)} generator CPU µs/req`)
    for (const transport of round % 2 === 0 ? transports : [...transports].reverse()) {
      const c = await ceiling(target.url, pid, transport)
      ratios[transport]?.push(c.keptRps / closed.rps)
      const kept = c.atKept as Step | null
      const failed = c.firstFailed as Step | null
      if (kept !== null) efficiency[transport]?.push(closed.cpuUsPerReq / kept.generatorCpuUsPerReq)
      console.log(
        `  ${transport}: kept ${c.keptRps} req/s = ${(c.keptRps / closed.rps).toFixed(2)} of autocannon's closed model; ` +
          `${kept === null ? '' : `${kept.generatorCpuUsPerReq.toFixed(1)} generator CPU µs/req there (autocannon ${closed.cpuUsPerReq.toFixed(1)}); `}` +
          `the step above was ${failed === null ? 'never reached' : `${failed.limitedBy}-limited, target CPU ${(failed.targetCpuShare * 100).toFixed(0)}%`}`
      )
    }
  }
} finally {
  await target.stop()
}
for (const t of transports) {
  console.log(`${t}: kept rate / autocannon closed, per round ${(ratios[t] ?? []).map((r) => r.toFixed(2)).join(' ')}; median ${median(ratios[t] ?? []).toFixed(2)}`)
  console.log(
    `${t}: autocannon's generator CPU µs/req / the open model's at its kept rate, per round ${(efficiency[t] ?? []).map((r) => r.toFixed(2)).join(' ')}; median ${median(efficiency[t] ?? []).toFixed(2)}`
  )
}
console.log(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
)
