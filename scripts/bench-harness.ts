// The harness's own overhead and open-model accuracy, measured in one run against one running target:
// - harness overhead: what `authbench run --scenario health` reports against what the plain
//   autocannon CLI and wrk (the ceiling) get from the same target, same connections;
// - open-model accuracy: `authbench run --scenario validate --rate 5000`'s achieved rate, late
//   sends, drops and event-loop lag.
// The target runs pinned to core 0 and every load generator (the CLIs and this process) to core 1,
// so the generators never steal the target's core. Rounds are interleaved and the order of the
// three closed-model tools rotates per round, so machine drift and "who ran right after whom"
// hit every tool alike; ratios are per round, then the median of rounds.
// Many short rounds beat a few long ones here: the same tool against the same target moves ±20%
// between 3-second windows on this shared machine, so the ratio needs many pairs to settle.
//   node --import tsx scripts/bench-harness.ts [--rounds 11] [--duration-s 3] [--connections 32] [--rate 5000]
import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT, canPin, pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'
import type { TargetProcess } from '../harness/engine/target-process.ts'
import type { RunResult, TrialResult } from '../harness/types.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '11' },
    'duration-s': { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '5000' },
    preset: { type: 'string', default: 'phase2' }
  }
})
const rounds = Number(values.rounds)
const durationS = Number(values['duration-s'])
const connections = Number(values.connections)
const rateRps = Number(values.rate)
const preset = values.preset as string
for (const [name, v] of [
  ['rounds', rounds],
  ['duration-s', durationS],
  ['connections', connections],
  ['rate', rateRps]
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`)
}
if (rounds < 3) throw new Error('--rounds must be at least 3: a median of fewer rounds says little')

const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-42'
// Every child gets a hard deadline: a hung tool must not hang the benchmark.
const CHILD_SLACK_MS = 60_000
const pinned = canPin()

interface Child {
  stdout: string
  stderr: string
}

/** Runs a command on core 1 (when pinning is possible); rejects on a non-zero exit or the deadline. */
function onCore1(command: string, args: string[], timeoutMs: number): Promise<Child> {
  const [file, argv] = pinned ? ['taskset', ['-c', '1', command, ...args]] : [command, args]
  return new Promise((resolve, reject) => {
    // The harness's --json result carries histograms and timelines: far over execFile's 1 MiB default.
    execFile(file, argv, { cwd: REPO_ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`))
      else resolve({ stdout, stderr })
    })
  })
}

async function autocannonCli(url: string, seconds = durationS): Promise<number> {
  const { stdout } = await onCore1(
    path.join(REPO_ROOT, 'node_modules/.bin/autocannon'),
    ['-c', String(connections), '-d', String(seconds), '--json', url],
    seconds * 1000 + CHILD_SLACK_MS
  )
  const r = JSON.parse(stdout) as { requests: { average: number; total: number }; '2xx': number; non2xx: number; errors: number }
  if (r['2xx'] < 0.99 * (r.requests.total + r.errors)) throw new Error(`autocannon: only ${r['2xx']} 2xx of ${r.requests.total} (non2xx ${r.non2xx}, errors ${r.errors})`)
  return r.requests.average
}

async function wrk(url: string): Promise<number> {
  const { stdout } = await onCore1('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, url], durationS * 1000 + CHILD_SLACK_MS)
  // wrk prints "Non-2xx or 3xx responses: N" only when there were some: a fast error page is no ceiling.
  if (/Non-2xx or 3xx responses/.test(stdout) || /Socket errors/.test(stdout)) throw new Error(`wrk saw errors:\n${stdout}`)
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout)
  if (m === null) throw new Error(`wrk: no Requests/sec in its output:\n${stdout}`)
  return Number(m[1])
}

/** `authbench run` as its own process on core 1, as a user runs it; returns the one trial. */
async function authbench(url: string, outDir: string, extra: string[]): Promise<TrialResult> {
  const args = [
    '--import',
    'tsx',
    'harness/cli/cli.ts',
    'run',
    '--duration',
    `${durationS}s`,
    '--trials',
    '1',
    '--connections',
    String(connections),
    '--url',
    url,
    '--json',
    '--no-calibration',
    '--out',
    outDir,
    '--label',
    'bench-harness',
    ...extra
  ]
  // 1 s warm-up and set-up (token seeding for validate) come on top of the measured time.
  const { stdout } = await onCore1(process.execPath, args, durationS * 1000 + CHILD_SLACK_MS)
  const result = JSON.parse(stdout) as RunResult
  if (result.aborted !== null) throw new Error(`authbench run aborted: ${result.aborted.reason}`)
  const trial = result.trials[0]
  if (trial === undefined) throw new Error('authbench run produced no trial')
  return trial
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo)
}
const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ')

interface Round {
  harness: number
  harnessValidity: string
  autocannon: number
  wrk: number
  order: string
  open: NonNullable<TrialResult['openModel']>
  /**
   * Responses that arrived inside the measured window, per second, from the per-second timeline:
   * achievedRps and throughputRps both count requests due in the window whenever they completed.
   */
  openCompletedRps: number
  openP99Ms: number
  openValidity: string
}

type Tool = 'harness' | 'autocannon' | 'wrk'
const TOOLS: Tool[] = ['harness', 'autocannon', 'wrk']

/** One round: the three closed-model tools on `health` in this round's rotated order, then the open model on `validate`. */
async function runRound(r: number, targetUrl: string, healthUrl: string, outDir: string): Promise<Round> {
  const order = TOOLS.map((_, i) => TOOLS[(i + r) % TOOLS.length] as Tool)
  const got: Partial<Record<Tool, number>> = {}
  let harnessValidity = ''
  for (const tool of order) {
    if (tool === 'harness') {
      const trial = await authbench(targetUrl, outDir, ['--scenario', 'health'])
      got.harness = trial.throughputRps
      harnessValidity = trial.validity.state === 'valid' ? 'valid' : `INVALID ${trial.validity.code}`
    } else if (tool === 'autocannon') {
      got.autocannon = await autocannonCli(healthUrl)
    } else {
      got.wrk = await wrk(healthUrl)
    }
  }
  const openTrial = await authbench(targetUrl, outDir, ['--scenario', 'validate', '--rate', String(rateRps)])
  if (openTrial.openModel === undefined) throw new Error('validate --rate produced no openModel figures')
  return {
    harness: got.harness as number,
    harnessValidity,
    autocannon: got.autocannon as number,
    wrk: got.wrk as number,
    order: order.join(' → '),
    open: openTrial.openModel,
    openCompletedRps: openTrial.timeline.slice(0, durationS).reduce((sum, row) => sum + row.requests, 0) / durationS,
    openP99Ms: openTrial.latencyUs.p99 / 1000,
    openValidity: openTrial.validity.state === 'valid' ? 'valid' : `INVALID ${openTrial.validity.code}`
  }
}

/** Starts the target on core 0, warms it up and runs every round against it; the target is stopped whatever happens. */
async function runRounds(outDir: string, generatorCpus: string | null, loadStart: number[]): Promise<Round[]> {
  let target: TargetProcess | undefined
  const rows: Round[] = []
  try {
    const options = referenceTarget({ PRESET: preset, JWT_SECRET, LOG_LEVEL: 'warn' })
    target = await startTarget({ ...options, pinCpus: pinned ? '0' : null })
    const healthUrl = `${target.url}${options.readinessPath ?? '/'}`
    process.stderr.write(
      `target ${target.url} (pid ${target.pid}) on cpus ${target.pinnedCpus ?? 'unpinned'}, generators on ${generatorCpus ?? 'unpinned'}; load average ${fmtLoad(loadStart)}\n`
    )
    // A cold target would hand round 1's first tool its JIT warm-up.
    await autocannonCli(healthUrl, 3)
    for (let r = 0; r < rounds; r++) {
      const row = await runRound(r, target.url, healthUrl, outDir)
      rows.push(row)
      process.stderr.write(
        `round ${r + 1}/${rounds} (${row.order}): harness ${row.harness.toFixed(0)}, autocannon ${row.autocannon.toFixed(0)}, wrk ${row.wrk.toFixed(0)} req/s; open ${row.open.achievedRps.toFixed(0)}/${rateRps} req/s, late ${(row.open.lateShare * 100).toFixed(2)}%, dropped ${row.open.dropped}; load ${fmtLoad(loadavg())}\n`
      )
      if (!target.running) throw new Error(`the target exited mid-run: ${target.stderrTail()}`)
    }
  } finally {
    await target?.stop()
  }
  return rows
}

/** The markdown report: the method, then the overhead table and the open-model table, each with its medians. */
function renderReport(rows: readonly Round[], startedAt: Date, loadStart: number[], loadEnd: number[]): string {
  const ratioA = rows.map((x) => x.harness / x.autocannon)
  const ratioW = rows.map((x) => x.harness / x.wrk)
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`
  const lines: string[] = []
  lines.push(`# Harness overhead and open-model accuracy (${startedAt.toISOString()})`, '')
  lines.push(
    `Target: reference target, PRESET=${preset}, pinned to core ${pinned ? '0' : '(unpinned)'}; every load generator (authbench CLI, autocannon CLI, wrk, this script) pinned to core ${pinned ? '1' : '(unpinned)'}. ` +
      `${rounds} interleaved rounds × ${durationS} s, ${connections} connections everywhere, one running target throughout. ` +
      `Closed-model tool order rotates per round. The authbench runs add their default 1 s unrecorded warm-up; autocannon and wrk measure from their first request.`,
    ''
  )
  lines.push(
    `Load average (1/5/15 min) at start ${fmtLoad(loadStart)}, at end ${fmtLoad(loadEnd)}. Other work shares this 2-core machine, so absolute req/s move between runs; the per-round ratios are the figures to read.`,
    ''
  )
  lines.push('## Harness overhead: GET / (`health`)', '')
  lines.push('| round | order | authbench req/s | autocannon CLI req/s | wrk req/s | authbench / autocannon | authbench / wrk |')
  lines.push('|---|---|---|---|---|---|---|')
  rows.forEach((x, i) => {
    lines.push(
      `| ${i + 1} | ${x.order} | ${x.harness.toFixed(0)}${x.harnessValidity === 'valid' ? '' : ` (${x.harnessValidity})`} | ${x.autocannon.toFixed(0)} | ${x.wrk.toFixed(0)} | ${(ratioA[i] as number).toFixed(3)} | ${(ratioW[i] as number).toFixed(3)} |`
    )
  })
  lines.push(
    `| **median** | | **${median(rows.map((x) => x.harness)).toFixed(0)}** | **${median(rows.map((x) => x.autocannon)).toFixed(0)}** | **${median(rows.map((x) => x.wrk)).toFixed(0)}** | **${median(ratioA).toFixed(3)}** | **${median(ratioW).toFixed(3)}** |`,
    ''
  )
  lines.push(
    `Goal: authbench / autocannon ≥ 0.95 → ${median(ratioA) >= 0.95 ? 'met' : 'NOT met'} (median ${median(ratioA).toFixed(3)}; ` +
      `interquartile range ${quantile(ratioA, 0.25).toFixed(3)}–${quantile(ratioA, 0.75).toFixed(3)}; ${ratioA.filter((x) => x >= 0.95).length} of ${rows.length} rounds ≥ 0.95). ` +
      `wrk / autocannon CLI median ${median(rows.map((x) => x.wrk / x.autocannon)).toFixed(3)}.`,
    ''
  )
  lines.push(`## Open-model accuracy: POST /validate at ${rateRps} req/s`, '')
  lines.push('| round | achieved req/s | achieved / set | late sends | late share | dropped | event-loop lag p99 | completed in window req/s | latency p99 | validity |')
  lines.push('|---|---|---|---|---|---|---|---|---|---|')
  rows.forEach((x, i) => {
    lines.push(
      `| ${i + 1} | ${x.open.achievedRps.toFixed(0)} | ${(x.open.achievedRps / rateRps).toFixed(4)} | ${x.open.lateSends} / ${x.open.scheduled} | ${pct(x.open.lateShare)} | ${x.open.dropped} | ${x.open.eventLoopLagP99Ms.toFixed(2)} ms | ${x.openCompletedRps.toFixed(0)} | ${x.openP99Ms.toFixed(1)} ms | ${x.openValidity} |`
    )
  })
  lines.push(
    `| **median** | **${median(rows.map((x) => x.open.achievedRps)).toFixed(0)}** | **${(median(rows.map((x) => x.open.achievedRps)) / rateRps).toFixed(4)}** | | **${pct(median(rows.map((x) => x.open.lateShare)))}** | **${median(rows.map((x) => x.open.dropped))}** | **${median(rows.map((x) => x.open.eventLoopLagP99Ms)).toFixed(2)} ms** | **${median(rows.map((x) => x.openCompletedRps)).toFixed(0)}** | **${median(rows.map((x) => x.openP99Ms)).toFixed(1)} ms** | |`,
    ''
  )
  lines.push(
    '"achieved" is the harness\'s `openModel.achievedRps`: sends due in the measured window over its length, backlogged sends included whenever they left, so it reads the set rate unless requests time out; "dropped" counts sends that found all connections busy and waited in the backlog; "completed in window" is responses that arrived inside the window (the first seconds of the trial\'s per-second timeline), per second.',
    ''
  )
  return lines.join('\n')
}

async function main(): Promise<void> {
  const loadStart = loadavg()
  const startedAt = new Date()
  // This process only orchestrates, but it must not compete with the target for core 0 either.
  const generatorCpus = await pinGenerator('1')
  const outDir = await mkdtemp(path.join(tmpdir(), 'bench-harness-'))
  let rows: Round[]
  try {
    rows = await runRounds(outDir, generatorCpus, loadStart)
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
  const text = renderReport(rows, startedAt, loadStart, loadavg())
  console.log(text)
  await mkdir(path.join(REPO_ROOT, 'reports'), { recursive: true })
  await writeFile(path.join(REPO_ROOT, 'reports/bench-harness.md'), `${text}\n`)
  process.stderr.write('written to reports/bench-harness.md\n')
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
