// End to end, through the `authbench` bin as a user runs it: the core speaks of targets, variants,
// scenarios and runs only. A project without a config is offered no store, cache, preset or token;
// the repository's config brings the reference target's own options, and they work. A project of
// its own registers a stand-in driver and a stand-in report through the public API (one call
// each) and `run` and `ab` use them. A scenario that throws mid-run exits 2, never 1.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import type { RunResult } from '../../harness/types.ts'
import { postgresUrl } from '../helpers/services.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const temp = mkdtempSync(path.join(tmpdir(), 'authbench-core-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

function authbench(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Ran {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CI: 'true', ...env } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function newestResult(dir: string): RunResult {
  const newest = readdirSync(dir)
    .filter((d) => existsSync(path.join(dir, d, 'result.json')))
    .sort()
    .at(-1) as string
  return JSON.parse(readFileSync(path.join(dir, newest, 'result.json'), 'utf8')) as RunResult
}

/** A project of the user's own: the tiny items service, `authbench` installed as a dependency, and `files`. */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(temp, name)
  mkdirSync(dir)
  cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'user-service', 'server.mjs'), path.join(dir, 'server.mjs'))
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module', private: true }))
  mkdirSync(path.join(dir, 'node_modules'))
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'authbench'), 'dir')
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text)
  return dir
}

const AUTH_WORDS = /\b(store|cache|preset|presets|tokens?|ott|max-pool|phase[0-9]?)\b/i

describe('the core knows no auth', () => {
  it('run --help in a folder with no config names no store, cache, preset or token', () => {
    const empty = path.join(temp, 'no-config')
    mkdirSync(empty)
    for (const command of ['run', 'capacity', 'baseline', 'variants', 'ab']) {
      const r = authbench([command, '--help'], empty)
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout, `${command} --help`).not.toMatch(AUTH_WORDS)
    }
    expect(authbench(['run', '--help'], empty).stdout).toContain('--variant <name>')
    const top = authbench(['--help'], empty)
    expect(top.stdout).toMatch(/variants\|phases/)
    expect(top.stdout).not.toMatch(AUTH_WORDS)
    // A declared option of another project is an unknown option here, exit 2.
    const r = authbench(['run', '--store', 'postgres'], empty)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/unknown option '--store'/)
  })

  it("with the repository's config, the reference target's options are offered, checked and recorded", async () => {
    const help = authbench(['run', '--help'], REPO_ROOT)
    expect(help.stdout).toMatch(/--store <value>.*\(memory, postgres\)/)
    expect(help.stdout).toMatch(/--cache <value>/)
    expect(help.stdout).toMatch(/--preset <name>/)
    expect(help.stdout).toMatch(/--max-pool <n>/)
    const bad = authbench(['run', '--scenario', 'health', '--store', 'mysql'], REPO_ROOT)
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/--store must be one of memory, postgres; got "mysql"/)

    const databaseUrl = await postgresUrl('run --store postgres')
    if (databaseUrl === null) return
    const out = path.join(temp, 'store-postgres')
    const r = authbench(
      [
        'run',
        '--scenario',
        'health',
        '--store',
        'postgres',
        '--preset',
        'phase1',
        '--trials',
        '1',
        '--duration',
        '500ms',
        '--warmup',
        '200ms',
        '--warmup-max',
        '200ms',
        '--no-calibration',
        '--out',
        out
      ],
      REPO_ROOT,
      { DATABASE_URL: databaseUrl }
    )
    expect(r.status, r.stderr).toBe(0)
    const result = newestResult(out)
    expect(result.schemaVersion).toBe(3)
    // store as given; cache as the target reported it (phase1 keeps none).
    expect(result.environment.targetOptions).toEqual({ store: 'postgres', cache: 'none' })
    expect(result.environment.variant).toBe('phase1')
    // The target itself says it ran on PostgreSQL: the option reached it.
    expect(result.environment.targetConfig?.store).toBe('postgres')
    expect(result.environment).not.toHaveProperty('store')
  }, 180_000)
})

// A driver of the project's own: it sends nothing and reports 1,000 answers of 500 µs for every
// window it is asked to drive, after waiting out the window (so the engine's clock still runs).
// Its throughput is then exactly 1,000 per window in both arms: the gate must say "no change".
const STAND_IN_CONFIG = `
import { EventEmitter } from 'node:events'
import { createHistogram, defineConfig, defineScenario, defineTarget, encodeHistogram, registerDriver, registerReport } from 'authbench'

class StandInDriver extends EventEmitter {
  async run(options) {
    const durationMs = options.load.durationMs
    await new Promise((resolve) => {
      const done = () => { clearTimeout(timer); options.signal?.removeEventListener('abort', done); resolve() }
      const timer = setTimeout(done, durationMs)
      options.signal?.addEventListener('abort', done, { once: true })
    })
    const histogram = createHistogram()
    for (let i = 0; i < 1000; i++) histogram.recordValue(500)
    const outcome = { durationMs, requests: 1000, successes: 1000, errors: 0, bytesRead: 2000, histogram: encodeHistogram(histogram),
      statusCounts: { 200: 1000 }, errorsByKind: { byStatus: {}, timeouts: 0, resets: 0, other: 0 }, timeline: [], aborted: false }
    this.emit('done', outcome)
    return outcome
  }
}

registerDriver({ name: 'stand-in', model: 'closed', description: 'sends nothing; reports 1,000 answers of 500 µs', create: () => new StandInDriver() })
registerReport({ name: 'stand-in', file: 'stand-in.txt', render: ({ comparison }) => 'stand-in report: ' + comparison.verdict + '\\n' })

export default defineConfig({
  targets: [defineTarget({ name: 'items', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health', timeoutMs: 10000 }, variants: { a: {}, b: {} } })],
  scenarios: [defineScenario({ name: 'ping', request: { method: 'GET', path: '/health', expectedStatuses: [200] } })],
  load: { durationMs: 300, warmupMs: 100, trials: 2, connections: 2 },
  gate: { gatedMetrics: ['throughputRps'], minTrials: 2 }
})
`

describe('one registration adds a driver or a report', () => {
  const dir = project('stand-ins', { 'authbench.config.ts': STAND_IN_CONFIG })
  const fast = ['--warmup', '100ms', '--warmup-max', '100ms', '--no-calibration']

  it('run drives the scenario through the registered driver', () => {
    const r = authbench(['run', ...fast, '--out', 'runs'], dir)
    expect(r.status, r.stderr).toBe(0)
    const result = newestResult(path.join(dir, 'runs'))
    expect(result.environment.driver).toBe('stand-in')
    expect(result.trials.map((t) => [t.requests, t.latencyUs.p50, t.durationMs, t.validity.state])).toEqual([
      [1000, 500, 300, 'valid'],
      [1000, 500, 300, 'valid']
    ])
    expect(r.stderr).not.toMatch(/does not match the schema/)
    expect(authbench(['run', '--help'], dir).stdout).toMatch(/stand-in \(closed\)/)
  })

  it('ab drives both arms through it and writes the registered report beside the built-in ones', () => {
    const r = authbench(['ab', '--a', 'a', '--b', 'b', '--trials', '6', '--duration', '300ms', ...fast, '--out', 'ab'], dir)
    expect(r.status, r.stderr).toBe(0)
    const folder = readdirSync(path.join(dir, 'ab'))[0] as string
    const written = readdirSync(path.join(dir, 'ab', folder)).sort()
    expect(written).toEqual(expect.arrayContaining(['junit.xml', 'report.html', 'report.md', 'result.json', 'stand-in.txt']))
    expect(readFileSync(path.join(dir, 'ab', folder, 'stand-in.txt'), 'utf8')).toBe('stand-in report: no-change\n')
    const result = JSON.parse(readFileSync(path.join(dir, 'ab', folder, 'result.json'), 'utf8')) as RunResult
    expect(result.environment.driver).toBe('stand-in')
    expect(result.trials.filter((t) => t.arm === 'A')).toHaveLength(6)
    expect(r.stdout).toMatch(/reports: .*stand-in\.txt/)
  })
})

describe('a scenario that fails is the run failing, never a regression', () => {
  it('a TypeError thrown by a scenario on its 1,000th request exits 2 with one line, not 1 and not a stack', () => {
    const dir = project('throws-mid-run', {
      'authbench.config.ts': `
import { defineConfig, defineTarget, defineScenario } from 'authbench'
const spec = { method: 'GET', path: '/health', expectedStatuses: [200] }
let sent = 0
export default defineConfig({
  targets: [defineTarget({ name: 'items', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health' } })],
  scenarios: [defineScenario({ name: 'flaky', setup: () => ({ nextRequest: () => { if (++sent >= 1000) { const item = undefined; return item.path } return spec } }) })],
  load: { durationMs: 1000, warmupMs: 0, trials: 1, connections: 2 }
})
`
    })
    const r = authbench(['run', '--warmup-max', '0ms', '--no-calibration', '--out', 'runs'], dir)
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/TypeError/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
