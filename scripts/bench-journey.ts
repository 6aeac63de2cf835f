// What a journey costs the load generator, against the same request as a fixed scenario, side by
// side in each round on one running target (the reference target's `GET /`, `health`):
// - closed model: autocannon (the harness's driver for fixed requests) against a one-step journey
//   of the same GET (the journey driver, as `--stages` or a journey scenario runs it), both with
//   the same connections / VUs; throughput and the generator's CPU µs per request;
// - open model: the open request driver against the journey driver at the same arrival rate (one
//   GET per iteration); the generator's CPU µs per request.
// The target runs on core 0 and this process (every driver) on core 1. The generator's CPU is this
// process's user + system time over the driver's run (closed model: it includes the driver's start
// and end, which both sides carry alike), or the open drivers' own generatorCpuShare over the
// measured window (which leaves out their deliberate polling before each due send). A journey's ceiling on one core is 1e6 / its CPU µs per request when
// the generator, not the target, is the limit; the closed-model throughput ratio says which was.
//   node --import tsx scripts/bench-journey.ts [--rounds 5] [--duration-s 3] [--connections 32] [--rate 5000]
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ClosedDriver } from '../harness/engine/drivers/closed.ts'
import { JourneyDriver, requestsAsJourney } from '../harness/engine/drivers/journey.ts'
import { OpenDriver } from '../harness/engine/drivers/open.ts'
import type { Driver, DriverOutcome, RequestSpec } from '../harness/engine/drivers/types.ts'
import { REPO_ROOT, pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import type { LoadSettings } from '../harness/types.ts'
import { ENDPOINTS } from '../scenarios/catalog.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'duration-s': { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '5000' },
    preset: { type: 'string', default: 'phase2' }
  }
})
const rounds = Number(values.rounds)
const durationMs = Number(values['duration-s']) * 1000
const connections = Number(values.connections)
const rateRps = Number(values.rate)
for (const [name, v] of Object.entries({ rounds, durationMs, connections, rateRps })) if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`)

interface Measured {
  rps: number
  cpuUsPerRequest: number
  errors: number
  validity: string
}

/** One driver run, timed by this process's own CPU clock. */
async function measure(driver: Driver, load: LoadSettings, spec: RequestSpec, url: string, journey: boolean): Promise<Measured> {
  const cpu0 = process.cpuUsage()
  const outcome: DriverOutcome = await driver.run({ url, load, nextRequest: () => spec, ...(journey ? { journey: requestsAsJourney(() => spec) } : { fixedRequest: spec }) })
  const cpu = process.cpuUsage(cpu0)
  const requests = Math.max(1, outcome.requests)
  const open = outcome.openModel
  // The open model's drivers poll the last stretch before each due send on purpose, and report
  // their CPU share over the window without that polling (generatorCpuShare); the closed
  // model's is this process's CPU over the run.
  const cpuUs = open?.generatorCpuShare === undefined ? cpu.user + cpu.system : open.generatorCpuShare * outcome.durationMs * 1000
  return {
    rps: open?.completedRps ?? outcome.requests / (outcome.durationMs / 1000),
    cpuUsPerRequest: cpuUs / requests,
    errors: outcome.errors,
    validity: open === undefined ? 'closed' : `limited by ${open.limitedBy ?? '?'}`
  }
}

interface Round {
  fixedClosed: Measured
  journeyClosed: Measured
  fixedOpen: Measured
  journeyOpen: Measured
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

async function runRound(r: number, url: string, spec: RequestSpec): Promise<Round> {
  const closed: LoadSettings = { model: 'closed', durationMs, warmupMs: 500, connections, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 10_000 }
  const open: LoadSettings = { ...closed, model: 'open', rateRps }
  // Alternate who goes first, so machine drift within a round hits both alike.
  const pairs: Array<[keyof Round, () => Promise<Measured>]> = [
    ['fixedClosed', () => measure(new ClosedDriver(), closed, spec, url, false)],
    ['journeyClosed', () => measure(new JourneyDriver(), closed, spec, url, true)],
    ['fixedOpen', () => measure(new OpenDriver(), open, spec, url, false)],
    ['journeyOpen', () => measure(new JourneyDriver(), open, spec, url, true)]
  ]
  const order = r % 2 === 0 ? pairs : [pairs[1], pairs[0], pairs[3], pairs[2]]
  const got: Partial<Round> = {}
  for (const entry of order) {
    const [key, run] = entry as [keyof Round, () => Promise<Measured>]
    got[key] = await run()
  }
  return got as Round
}

function report(rows: readonly Round[], started: Date, loadStart: number[]): string {
  const f = (x: number, d = 1): string => x.toFixed(d)
  const lines = [
    `# The journey driver's cost to the generator (${started.toISOString()})`,
    '',
    `Reference target \`GET /\` (PRESET=${values.preset}) on core 0; every driver in this process on core 1. ${rows.length} rounds × ${durationMs / 1000} s; closed model ${connections} connections / VUs; open model ${rateRps} req/s (one GET per iteration for the journey). Load average at start ${loadStart.map((x) => x.toFixed(2)).join(' / ')}, at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}.`,
    '',
    '| round | closed: autocannon req/s | closed: journey req/s | journey / autocannon | CPU µs/req autocannon | CPU µs/req journey | journey / fixed CPU | open: fixed CPU µs/req | open: journey CPU µs/req | journey / fixed CPU |',
    '|---|---|---|---|---|---|---|---|---|---|'
  ]
  rows.forEach((x, i) => {
    lines.push(
      `| ${i + 1} | ${f(x.fixedClosed.rps, 0)} | ${f(x.journeyClosed.rps, 0)} | ${f(x.journeyClosed.rps / x.fixedClosed.rps, 3)} | ${f(x.fixedClosed.cpuUsPerRequest)} | ${f(x.journeyClosed.cpuUsPerRequest)} | ${f(x.journeyClosed.cpuUsPerRequest / x.fixedClosed.cpuUsPerRequest, 2)} | ${f(x.fixedOpen.cpuUsPerRequest)} (${x.fixedOpen.validity}) | ${f(x.journeyOpen.cpuUsPerRequest)} (${x.journeyOpen.validity}) | ${f(x.journeyOpen.cpuUsPerRequest / x.fixedOpen.cpuUsPerRequest, 2)} |`
    )
  })
  const m = (g: (x: Round) => number, d = 3): string => f(median(rows.map(g)), d)
  lines.push(
    `| **median** | **${m((x) => x.fixedClosed.rps, 0)}** | **${m((x) => x.journeyClosed.rps, 0)}** | **${m((x) => x.journeyClosed.rps / x.fixedClosed.rps)}** | **${m((x) => x.fixedClosed.cpuUsPerRequest, 1)}** | **${m((x) => x.journeyClosed.cpuUsPerRequest, 1)}** | **${m((x) => x.journeyClosed.cpuUsPerRequest / x.fixedClosed.cpuUsPerRequest, 2)}** | **${m((x) => x.fixedOpen.cpuUsPerRequest, 1)}** | **${m((x) => x.journeyOpen.cpuUsPerRequest, 1)}** | **${m((x) => x.journeyOpen.cpuUsPerRequest / x.fixedOpen.cpuUsPerRequest, 2)}** |`,
    '',
    `Goal: a one-step journey costs the generator at most 1.5× the CPU per request of the fixed request. Closed model: ${m((x) => x.journeyClosed.cpuUsPerRequest / x.fixedClosed.cpuUsPerRequest, 2)}×; open model: ${m((x) => x.journeyOpen.cpuUsPerRequest / x.fixedOpen.cpuUsPerRequest, 2)}×.`,
    `The journey driver's ceiling on one core, from its CPU per request: ${m((x) => 1e6 / x.journeyClosed.cpuUsPerRequest, 0)} req/s against autocannon's ${m((x) => 1e6 / x.fixedClosed.cpuUsPerRequest, 0)} (ratio ${m((x) => x.fixedClosed.cpuUsPerRequest / x.journeyClosed.cpuUsPerRequest)}); measured side by side on this target, journey / autocannon throughput ${m((x) => x.journeyClosed.rps / x.fixedClosed.rps)} (the ceiling ratio when the generator was the limit; nearer 1 when the target was, since both then get what it gives).`,
    ''
  )
  const errors = rows.reduce((a, x) => a + x.fixedClosed.errors + x.journeyClosed.errors + x.fixedOpen.errors + x.journeyOpen.errors, 0)
  if (errors > 0) lines.push(`${errors} errors in all: read the figures with care.`, '')
  return lines.join('\n')
}

async function main(): Promise<void> {
  const started = new Date()
  const loadStart = loadavg()
  await pinGenerator('1')
  const options = referenceTarget({ PRESET: values.preset, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-42', LOG_LEVEL: 'warn' })
  const target = await startTarget({ ...options, pinCpus: '0' })
  const spec: RequestSpec = Object.freeze({ method: 'GET', path: ENDPOINTS.health.path, expectedStatuses: [200], tag: 'health' })
  const rows: Round[] = []
  try {
    for (let r = 0; r < rounds; r++) {
      const row = await runRound(r, target.url, spec)
      rows.push(row)
      process.stderr.write(
        `round ${r + 1}/${rounds}: closed autocannon ${row.fixedClosed.rps.toFixed(0)} req/s ${row.fixedClosed.cpuUsPerRequest.toFixed(1)} µs/req, journey ${row.journeyClosed.rps.toFixed(0)} req/s ${row.journeyClosed.cpuUsPerRequest.toFixed(1)} µs/req; open fixed ${row.fixedOpen.cpuUsPerRequest.toFixed(1)}, journey ${row.journeyOpen.cpuUsPerRequest.toFixed(1)} µs/req\n`
      )
    }
  } finally {
    await target.stop()
  }
  const text = report(rows, started, loadStart)
  console.log(text)
  await mkdir(path.join(REPO_ROOT, 'reports'), { recursive: true })
  await writeFile(path.join(REPO_ROOT, 'reports/bench-journey.md'), `${text}\n`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
