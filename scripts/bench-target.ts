// Issue 2's figures, measured side by side in one run: GET / against a bare Fastify hello-world,
// POST /validate on a cached token against GET /, POST /token against GET /. The server under
// test runs on core 0 and this load generator on core 1 (taskset), rounds are interleaved so
// machine drift hits every variant alike, and the ratios are medians over rounds.
//   node --import tsx scripts/bench-target.ts [--rounds 3] [--duration-s 5] [--connections 50]
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { BASE_PATH } from '../scenarios/catalog.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'duration-s': { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    preset: { type: 'string', default: 'phase2' }
  }
})
const rounds = Number(values.rounds)
const durationS = Number(values['duration-s'])
const connections = Number(values.connections)
const BASE = BASE_PATH
const pin = existsSync('/usr/bin/taskset') && availableParallelism() >= 2

function startServer(script: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const args = ['--import', 'tsx', script]
  const child = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 30 s`)), 30_000)
    child.stderr?.on('data', (d: Buffer) => {
      if (/listening on/.test(d.toString())) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
  })
}

async function load(url: string, opts: Partial<autocannon.Options> = {}): Promise<number> {
  const result = await autocannon({ url, connections, duration: durationS, ...opts })
  const ok = result['2xx'] / Math.max(1, result.requests.total + result.errors)
  if (ok < 0.99) throw new Error(`${url}: only ${(ok * 100).toFixed(1)}% 2xx (non2xx ${result.non2xx}, errors ${result.errors})`)
  return result.requests.average
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main(): Promise<void> {
  if (pin) spawn('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' })
  const env = { PRESET: values.preset!, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-42', LOG_LEVEL: 'error' }
  const rows: Record<string, number[]> = { hello: [], health: [], validate: [], token: [] }
  for (let r = 0; r < rounds; r++) {
    const hello = await startServer('scripts/fixtures/hello.ts', 3101, {})
    await load('http://127.0.0.1:3101/', { duration: 1 })
    rows.hello!.push(await load('http://127.0.0.1:3101/'))
    await stop(hello)

    const target = await startServer('target/server.ts', 3102, env)
    const url = `http://127.0.0.1:3102${BASE}`
    const tokenBody = JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
    const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody })
    const { access_token: jwt } = (await res.json()) as { access_token: string }
    await load(`${url}/`, { duration: 1 })
    rows.health!.push(await load(`${url}/`))
    const validate = { method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify({ resource: '/quotes/ltp' }) }
    rows.validate!.push(await load(`${url}/validate`, validate))
    rows.token!.push(await load(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody }))
    await stop(target)
    process.stderr.write(
      `round ${r + 1}/${rounds}: hello ${rows.hello!.at(-1)!.toFixed(0)}  health ${rows.health!.at(-1)!.toFixed(0)}  validate ${rows.validate!.at(-1)!.toFixed(0)}  token ${rows.token!.at(-1)!.toFixed(0)} req/s\n`
    )
  }
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<string, number>
  const perRound = (a: string, b: string): string => rows[a]!.map((v, i) => (v / rows[b]![i]!).toFixed(3)).join(', ')
  console.log(`\nPreset ${values.preset}; target pinned to core 0, load to core 1: ${pin}; ${rounds} rounds × ${durationS} s, ${connections} connections`)
  console.log('| figure | median req/s | ratio (median of rounds) | per round |')
  console.log('|---|---|---|---|')
  console.log(`| bare Fastify hello-world | ${m.hello!.toFixed(0)} | | |`)
  console.log(`| GET / | ${m.health!.toFixed(0)} | ${(m.health! / m.hello!).toFixed(3)} of hello-world | ${perRound('health', 'hello')} |`)
  console.log(`| POST /validate (cached token) | ${m.validate!.toFixed(0)} | ${(m.validate! / m.health!).toFixed(3)} of GET / | ${perRound('validate', 'health')} |`)
  console.log(`| POST /token | ${m.token!.toFixed(0)} | ${(m.token! / m.health!).toFixed(3)} of GET / | ${perRound('token', 'health')} |`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
