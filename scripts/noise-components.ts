// What is the gate's noise made of on this machine? Starts K identical reference targets pinned to
// the target core and measures them in rotation (a short slot each, rounds R times), reading each
// slot's completed requests and each target's own CPU time (schedstat, harness/process-usage.ts).
// A two-way decomposition of log(CPU µs/req) and log(req/s) over target × round then says how much
// of the spread is
//   time      (round effects: the machine moving, which every target in that round shares),
//   process   (a target's own fixed effect, the same in every round: JIT, heap, layout),
//   residual  (what neither explains: noise faster than a round, or a process's own drift).
// The gate's per-pair B/A ratio cancels the time effect only as far as its arms share the same
// moments, never the process effect (each arm is a different process), so these components say
// which design can help: slots and duet cancel time, more processes per arm average the process
// effect, longer measurement averages the residual.
// It also measures, once per round, every target under load at the same time (duet), so the cost
// of sharing the core at once is stated beside the solo cost.
//
//   node --import tsx scripts/noise-components.ts [--targets 4] [--rounds 8] [--slot 500ms]
//        [--scenario token|health] [--preset phase2] [--neighbour [--neighbour-duty 0.25 --neighbour-burst-ms 100]]
//
// Variance components are computed by hand (a two-way ANOVA without replication is a few sums);
// no statistics package on npm does it more simply than these few lines.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createClosedDriver } from '../harness/engine/drivers/closed.ts'
import type { RequestSpec } from '../harness/engine/drivers/types.ts'
import { parseDurationMs, parseIntOption } from '../harness/cli/commands/run-options.ts'
import { readProcessUsage } from '../harness/engine/process-usage.ts'
import { REPO_ROOT, canPin, pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import type { TargetProcess } from '../harness/engine/target-process.ts'
import type { LoadSettings } from '../harness/types.ts'
import { BASE_PATH } from '../scenarios/catalog.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '8' },
    slot: { type: 'string', default: '500ms' },
    scenario: { type: 'string', default: 'token' },
    preset: { type: 'string', default: 'phase2' },
    connections: { type: 'string', default: '32' },
    shed: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '1500ms' },
    neighbour: { type: 'boolean', default: false },
    'neighbour-duty': { type: 'string', default: '0.25' },
    'neighbour-burst-ms': { type: 'string', default: '100' }
  }
})
const targets = parseIntOption('--targets', args.targets as string, 2, 16)
const rounds = parseIntOption('--rounds', args.rounds as string, 2, 100)
const slotMs = parseDurationMs('--slot', args.slot as string, false)
const connections = parseIntOption('--connections', args.connections as string, 1, 1_000)
const scenario = args.scenario as string
if (scenario !== 'token' && scenario !== 'health') {
  process.stderr.write('noise-components: --scenario must be token or health\n')
  process.exit(2)
}

const request: RequestSpec =
  scenario === 'token'
    ? {
        method: 'POST',
        path: `${BASE_PATH}/token`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' }),
        expectedStatuses: [200]
      }
    : { method: 'GET', path: `${BASE_PATH}/`, expectedStatuses: [200] }

const load = (durationMs: number): LoadSettings => ({ model: 'closed', durationMs, warmupMs: 0, connections, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 10_000 })

interface Slot {
  requests: number
  cpuUs: number
  durationMs: number
}

async function measure(t: TargetProcess, durationMs: number): Promise<Slot> {
  const pid = t.pid as number
  const before = await readProcessUsage(pid)
  const outcome = await createClosedDriver().run({ url: t.url, load: load(durationMs), nextRequest: () => request, fixedRequest: request })
  const after = await readProcessUsage(pid)
  if (before === null || after === null) throw new Error('no /proc usage for a target')
  return { requests: outcome.successes, cpuUs: after.cpuUs - before.cpuUs, durationMs: outcome.durationMs }
}

/** Both-way decomposition of a targets × rounds table of logs (no replication). */
function components(table: number[][]): { time: number; process: number; residual: number; grand: number } {
  const k = table.length
  const r = (table[0] as number[]).length
  const grand = table.flat().reduce((a, b) => a + b, 0) / (k * r)
  const rowMean = table.map((row) => row.reduce((a, b) => a + b, 0) / r)
  const colMean = Array.from({ length: r }, (_, j) => table.reduce((a, row) => a + (row[j] as number), 0) / k)
  let ssRow = 0
  let ssCol = 0
  let ssRes = 0
  for (let i = 0; i < k; i++) ssRow += r * ((rowMean[i] as number) - grand) ** 2
  for (let j = 0; j < r; j++) ssCol += k * ((colMean[j] as number) - grand) ** 2
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < r; j++) ssRes += (((table[i] as number[])[j] as number) - (rowMean[i] as number) - (colMean[j] as number) + grand) ** 2
  }
  const msRow = ssRow / (k - 1)
  const msCol = ssCol / (r - 1)
  const msRes = ssRes / ((k - 1) * (r - 1))
  // Expected mean squares: E[msRow] = σ²res + r σ²process, E[msCol] = σ²res + k σ²time.
  return {
    process: Math.sqrt(Math.max(0, (msRow - msRes) / r)),
    time: Math.sqrt(Math.max(0, (msCol - msRes) / k)),
    residual: Math.sqrt(msRes),
    grand
  }
}

const pct = (logSd: number): string => `${((Math.exp(logSd) - 1) * 100).toFixed(1)}%`

async function main(): Promise<void> {
  const loadStart = loadavg()
  const pinned = canPin()
  await pinGenerator('1')
  let neighbour: ChildProcess | null = null
  const started: TargetProcess[] = []
  try {
    for (let i = 0; i < targets; i++) {
      started.push(
        await startTarget({
          ...referenceTarget({ PRESET: args.preset as string, LOG_LEVEL: 'warn', ...(args.shed === true ? {} : { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' }) }),
          pinCpus: pinned ? '0' : null
        })
      )
    }
    const warmupMs = parseDurationMs('--warmup', args.warmup as string, true)
    for (const t of started) if (warmupMs > 0) await measure(t, warmupMs)
    if (args.neighbour === true) {
      const script = [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'scripts/noisy-neighbour.ts'),
        '--duty',
        args['neighbour-duty'] as string,
        '--burst-ms',
        args['neighbour-burst-ms'] as string
      ]
      neighbour = spawn(pinned ? 'taskset' : process.execPath, pinned ? ['-c', '0', process.execPath, ...script] : script, { stdio: 'ignore' })
    }
    const cpu: number[][] = started.map(() => [])
    const rps: number[][] = started.map(() => [])
    const duetCpu: number[][] = started.map(() => [])
    const duetRps: number[][] = started.map(() => [])
    for (let j = 0; j < rounds; j++) {
      // Rotate who goes first, so a drift within a round is not always on the same target.
      for (let s = 0; s < targets; s++) {
        const i = (s + j) % targets
        const m = await measure(started[i] as TargetProcess, slotMs)
        ;(cpu[i] as number[]).push(Math.log(m.cpuUs / m.requests))
        ;(rps[i] as number[]).push(Math.log(m.requests / (m.durationMs / 1000)))
      }
      const together = await Promise.all(started.map((t) => measure(t, slotMs)))
      together.forEach((m, i) => {
        ;(duetCpu[i] as number[]).push(Math.log(m.cpuUs / m.requests))
        ;(duetRps[i] as number[]).push(Math.log(m.requests / (m.durationMs / 1000)))
      })
      process.stderr.write(`round ${j + 1}/${rounds}\n`)
    }
    const c = components(cpu)
    const t = components(rps)
    const dc = components(duetCpu)
    const dt = components(duetRps)
    const loadEnd = loadavg()
    const fmt = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ')
    console.log(
      `noise-components: ${targets} identical ${scenario} targets (${args.preset as string}), ${rounds} rounds of ${slotMs} ms slots, ${connections} connections; ${args.neighbour === true ? `noisy neighbour duty ${args['neighbour-duty'] as string}, bursts ${args['neighbour-burst-ms'] as string} ms` : 'no neighbour'}; load average ${fmt(loadStart)} → ${fmt(loadEnd)}`
    )
    console.log('')
    console.log('| measured | mean | time (round) SD | process SD | residual SD |')
    console.log('|---|---|---|---|---|')
    console.log(`| solo slots, CPU µs/req | ${Math.exp(c.grand).toFixed(1)} | ${pct(c.time)} | ${pct(c.process)} | ${pct(c.residual)} |`)
    console.log(`| solo slots, req/s | ${Math.exp(t.grand).toFixed(0)} | ${pct(t.time)} | ${pct(t.process)} | ${pct(t.residual)} |`)
    console.log(`| all at once (duet), CPU µs/req | ${Math.exp(dc.grand).toFixed(1)} | ${pct(dc.time)} | ${pct(dc.process)} | ${pct(dc.residual)} |`)
    console.log(`| all at once (duet), req/s per target | ${Math.exp(dt.grand).toFixed(0)} | ${pct(dt.time)} | ${pct(dt.process)} | ${pct(dt.residual)} |`)
    console.log('')
    console.log(`CPU µs/req when all ${targets} share the core at once, against one at a time: ×${Math.exp(dc.grand - c.grand).toFixed(2)}`)
  } finally {
    neighbour?.kill('SIGTERM')
    await Promise.all(started.map((t) => t.stop().catch(() => undefined)))
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`noise-components: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 2
})
