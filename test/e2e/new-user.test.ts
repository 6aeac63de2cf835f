// A new user's whole way, as they would take it, in a temporary directory: `npm init -y` (a
// CommonJS package), authbench installed from the packed tarball with an EMPTY npm cache, express
// from the registry, `npx authbench init`, a scenario that seeds through `ctx.signal`, then run,
// baseline, compare, and the git-ref gate `ab --a HEAD~1 --b HEAD` on two commits, the second
// adding known work per request. Each exit code is checked, report.md names both commits, and no
// command prints a warning. Needs the npm registry (express); CI has it.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const temp = mkdtempSync(path.join(tmpdir(), 'authbench-new-user-'))
const dir = path.join(temp, 'shop')
const npmCache = path.join(temp, 'npm-cache')
const buildCache = path.join(temp, 'build-cache')
const started = Date.now()
afterAll(() => {
  console.log(`new-user end to end: ${((Date.now() - started) / 1000).toFixed(1)} s wall time`)
  rmSync(temp, { recursive: true, force: true })
})

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  CI: 'true',
  GITHUB_OUTPUT: path.join(temp, 'github-output'),
  npm_config_cache: npmCache,
  XDG_CACHE_HOME: buildCache,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false'
})

function sh(command: string, args: string[], timeoutMs = 300_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: dir, env: env() })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

const authbench = (args: string[]): Promise<Ran> => sh(path.join(dir, 'node_modules', '.bin', 'authbench'), args)
const git = (...args: string[]): void => {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
}

const SERVER = (workUs: number): string => `// A small Express service: items in memory.
const express = require('express')
const app = express()
const items = new Map()
function work() {
  const end = process.hrtime.bigint() + ${workUs * 1000}n
  while (process.hrtime.bigint() < end) {}
}
app.get('/health', (req, res) => res.send('ok'))
app.post('/items', (req, res) => {
  const id = String(items.size + 1)
  items.set(id, { id })
  res.status(201).json({ id })
})
app.get('/items/:id', (req, res) => {
  const item = items.get(req.params.id)
  if (item === undefined) return res.status(404).json({ error: 'no such item' })
  work()
  res.json(item)
})
const server = app.listen(Number(process.env.PORT), process.env.HOST)
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

const SCENARIO = `import { defineScenario } from 'authbench'
import type { RequestSpec } from 'authbench'

export default defineScenario({
  name: 'items',
  description: 'GET /items/:id over items seeded with POST /items',
  async setup(ctx) {
    const ids: string[] = []
    // Seeding as the README shows it: ctx.signal on every fetch, many of them.
    await Promise.all(
      Array.from({ length: 300 }, async () => {
        const res = await fetch(\`\${ctx.url}/items\`, { method: 'POST', signal: ctx.signal })
        ids.push(((await res.json()) as { id: string }).id)
      })
    )
    const specs: RequestSpec[] = ids.map((id) => ({ method: 'GET', path: \`/items/\${id}\`, expectedStatuses: [200] }))
    let i = 0
    return { nextRequest: () => specs[i++ % specs.length] as RequestSpec }
  }
})
`

const CONFIG = `import { defineConfig, defineTarget } from 'authbench'
import items from './scenarios/items.ts'

export default defineConfig({
  targets: [defineTarget({ name: 'shop', start: { command: 'node', args: ['server.js'] }, readiness: { path: '/health' } })],
  scenarios: [items],
  load: { durationMs: 1000, warmupMs: 300 }
})
`

// Two runs of one service minutes apart, judged at margins wider than any drift between them, so
// that comparing the same code says "no change" whatever this machine's noise.
const JUDGE = CONFIG.replace(
  'load: { durationMs: 1000, warmupMs: 300 }',
  'load: { durationMs: 1000, warmupMs: 300 },\n  gate: { margins: { throughputRps: 10, p50Us: 10, p95Us: 10, p99Us: 10, errorRate: 10, cpuUsPerRequest: 10 } }'
)

/**
 * No warning of Node's (MaxListenersExceededWarning, …) nor of authbench's, except the one that
 * describes this machine rather than the project: a calibration whose slices moved more than 10%
 * on a shared 2-core VM.
 */
function expectNoWarning(r: Ran, what: string): void {
  const lines = r.stderr.split('\n').filter((line) => /warning/i.test(line) && !/^warning: calibration was unsteady/.test(line))
  expect(lines, `${what} printed a warning`).toEqual([])
}

beforeAll(async () => {
  mkdirSync(dir)
  mkdirSync(npmCache)
  git('init', '-q')
  git('config', 'user.email', 'test@example.invalid')
  git('config', 'user.name', 'test')
  expect((await sh('npm', ['init', '-y'])).status).toBe(0)
  expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).type ?? 'commonjs').toBe('commonjs')
  const pack = spawnSync('npm', ['pack', '--pack-destination', temp], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, npm_config_cache: npmCache } })
  expect(pack.status, pack.stderr).toBe(0)
  const tarball = readdirSync(temp).find((f) => f.endsWith('.tgz')) as string
  const install = await sh('npm', ['install', '--save-dev', path.join('..', tarball)])
  expect(install.status, install.stderr).toBe(0)
  const express = await sh('npm', ['install', 'express@4'])
  expect(express.status, express.stderr).toBe(0)
}, 600_000)

describe('a new user, from npm init to a gated pull request', () => {
  it('init writes a config and a scenario that run as written, in a CommonJS package', { timeout: 180_000 }, async () => {
    writeFileSync(path.join(dir, 'server.js'), SERVER(0))
    const init = await authbench(['init', '--start', 'node server.js', '--ready', '/health'])
    expect(init.status, init.stderr + init.stdout).toBe(0)
    const r = await authbench(['run', '--duration', '1s', '--warmup', '300ms', '--trials', '1', '--out', 'reports'])
    expect(r.status, r.stderr + r.stdout).toBe(0)
    expectNoWarning(r, 'run of the generated config')
  })

  it('run, baseline and compare on the user scenario seeding through ctx.signal', { timeout: 300_000 }, async () => {
    // The user's own config replaces what init wrote: their scenario, short trials.
    for (const f of readdirSync(dir)) if (/^authbench\.config\./.test(f)) rmSync(path.join(dir, f))
    mkdirSync(path.join(dir, 'scenarios'), { recursive: true })
    writeFileSync(path.join(dir, 'scenarios', 'items.ts'), SCENARIO)
    writeFileSync(path.join(dir, 'authbench.config.mts'), CONFIG)
    const run = await authbench(['run', '--trials', '3', '--out', 'reports'])
    expect(run.status, run.stderr + run.stdout).toBe(0)
    expectNoWarning(run, 'run')
    const runDir = path.join(dir, 'reports', readdirSync(path.join(dir, 'reports')).sort().at(-1) as string)
    for (const file of ['result.json', 'report.md', 'report.html']) expect(existsSync(path.join(runDir, file)), file).toBe(true)
    const baseline = await authbench(['baseline', '--trials', '5'])
    expect(baseline.status, baseline.stderr + baseline.stdout).toBe(0)
    expectNoWarning(baseline, 'baseline')
    const current = await authbench(['run', '--trials', '5', '--out', 'reports', '--label', 'current'])
    expect(current.status).toBe(0)
    const currentDir = readdirSync(path.join(dir, 'reports')).find((d) => d.endsWith('-current')) as string
    writeFileSync(path.join(dir, 'judge.config.mts'), JUDGE)
    const compare = await authbench(['compare', path.join('reports', currentDir, 'result.json'), '--config', 'judge.config.mts'])
    // The same code twice, judged at wide margins: no change.
    expect(compare.status, compare.stdout + compare.stderr).toBe(0)
    expect(compare.stdout).toMatch(/authbench current vs baseline/)
  })

  it('ab --a HEAD~1 --b HEAD: the commit adding work per request is a regression, and report.md names both commits', { timeout: 600_000 }, async () => {
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\nreports/\nab/\nperf-reports/\n')
    git('add', '-A')
    git('commit', '-qm', 'items service')
    git('branch', '-M', 'main')
    git('checkout', '-qb', 'feature')
    const before = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim()
    writeFileSync(path.join(dir, 'server.js'), SERVER(300))
    git('commit', '-qam', 'items: 300 µs more work per read')
    const after = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim()
    const ab = await authbench(['ab', '--a', 'HEAD~1', '--b', 'HEAD', '--scenario', 'items', '--trials', '6', '--duration', '1s', '--warmup', '300ms', '--out', 'ab'])
    expect(ab.status, ab.stdout + ab.stderr).toBe(1)
    expectNoWarning(ab, 'ab')
    const abDir = path.join(dir, 'ab', readdirSync(path.join(dir, 'ab')).sort().at(-1) as string)
    const report = readFileSync(path.join(abDir, 'report.md'), 'utf8')
    expect(report).toContain(before.slice(0, 10))
    expect(report).toContain(after.slice(0, 10))
  })

  it("the CI workflow example's steps run in order in this project: the gate step finds the regression, the last step fails the job naming it", { timeout: 600_000 }, async () => {
    // The pull request's base as actions/checkout with fetch-depth 0 leaves it: origin/main.
    git('remote', 'add', 'origin', dir)
    git('fetch', '-q', 'origin')
    const workflow = parse(readFileSync(path.join(REPO_ROOT, 'examples', 'github-actions', 'perf-gate.yml'), 'utf8')) as {
      jobs: Record<string, { steps: Array<{ run?: string; uses?: string; name?: string }> }>
    }
    const steps = Object.values(workflow.jobs)[0]?.steps ?? []
    const runs = steps.filter((step) => step.run !== undefined)
    expect(runs.length).toBeGreaterThanOrEqual(3)
    const output = path.join(temp, 'github-output')
    writeFileSync(output, '')
    let exitCode = ''
    const expand = (script: string): string =>
      script
        .replace(/\$\{\{ github\.base_ref \}\}/g, 'main')
        .replace(/\$\{\{ github\.event\.pull_request\.number \}\}/g, '1')
        .replace(/\$\{\{ steps\.gate\.outputs\.exit-code \}\}/g, () => exitCode)
    const results: Ran[] = []
    for (const step of runs) {
      // A step with a condition on the gate's exit code runs as the workflow would decide.
      const r = await sh('bash', ['-e', '-c', expand(step.run as string)])
      results.push(r)
      const m = /exit-code=(\d+)/.exec(readFileSync(output, 'utf8'))
      if (m !== null) exitCode = m[1] as string
      if (step.run?.includes('npx authbench ab') === true) expect(exitCode, r.stdout + r.stderr).toBe('1')
    }
    expect(results[0]?.status, results[0]?.stderr).toBe(0) // npm ci
    const last = results.at(-1) as Ran
    expect(last.status).toBe(1)
    expect(last.stdout).toContain('::error title=Performance regression::')
  })
})
