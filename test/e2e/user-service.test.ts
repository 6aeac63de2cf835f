// End to end, as a user with a service of their own would: a project in a temp dir holding a tiny
// node:http service (not the auth target), its scenario file and its authbench.config.ts, with
// authbench installed as a dependency (node_modules/authbench → this checkout), driven through the
// `authbench` bin by run, baseline, compare and ab (a variant with a known injected cost → exit 1),
// and the four ways a config can be wrong, each exit 2 naming the problem.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { RESULT_SCHEMA_VERSION, type RunResult } from '../../harness/types.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const project = mkdtempSync(path.join(tmpdir(), 'authbench-user-'))
cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'user-service'), project, { recursive: true })
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'items-service', type: 'module', private: true }))
mkdirSync(path.join(project, 'node_modules'))
symlinkSync(REPO_ROOT, path.join(project, 'node_modules', 'authbench'), 'dir')
afterAll(() => rmSync(project, { recursive: true, force: true }))

function authbench(args: string[], timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CI: 'true' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function newestResult(dir: string): RunResult {
  const out = spawnSync('sh', ['-c', `ls -d ${dir}/*/ | sort | tail -1`], { encoding: 'utf8' }).stdout.trim()
  return JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')) as RunResult
}

function comparisonOf(resultFile: string): { mode: string; verdict: string; exitCode: number } | undefined {
  return (JSON.parse(readFileSync(resultFile, 'utf8')) as { comparison?: { mode: string; verdict: string; exitCode: number } }).comparison
}

/**
 * The project's config with every gate margin at its maximum (10, i.e. 1000%): two runs of one
 * service on one machine never differ that much, so comparing them is "no change" whatever the noise.
 */
function sameServiceConfig(): string {
  const name = 'same-service.config.ts'
  const text = readFileSync(path.join(project, 'authbench.config.ts'), 'utf8')
  const margins = 'margins: { throughputRps: 10, p50Us: 10, p95Us: 10, p99Us: 10, errorRate: 10, cpuUsPerRequest: 10 }'
  const judged = text.replace('gate: { minTrials: 3 }', `gate: { minTrials: 3, ${margins} }`)
  expect(judged).not.toBe(text)
  writeFileSync(path.join(project, name), judged)
  return name
}

describe("a service of the user's own, through its config", () => {
  it('run: the scenario file seeds through the service, the counters and process CPU come back', { timeout: 120_000 }, () => {
    const r = authbench(['run', '--no-calibration', '--out', 'runs'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('items')
    const result = newestResult(path.join(project, 'runs'))
    expect(result.schemaVersion).toBe(RESULT_SCHEMA_VERSION)
    expect(result.trials).toHaveLength(3)
    expect(result.counters).toEqual({
      itemReads: { metric: 'demo_item_reads_total', label: 'item reads' },
      itemsCreated: { metric: 'demo_items_created_total', label: 'items created' }
    })
    for (const t of result.trials) {
      expect(t.validity).toEqual({ state: 'valid' })
      expect(t.setup?.seeded).toBe(50)
      // Every measured request read one item and the service counted them itself; it also counts
      // the few still in flight when the driver stopped, which the driver never saw answered.
      expect(t.server?.counters.itemReads).toBeGreaterThanOrEqual(t.successes)
      expect(t.server?.counters.itemReads).toBeLessThanOrEqual(t.successes * 1.05)
      expect(t.server?.cpuSource).toBe('process-tree')
      expect(t.server?.cpuUsPerRequest).toBeGreaterThan(0)
      expect(t.server?.rssBytes).toBeGreaterThan(1_000_000)
    }
  })

  it('baseline, then compare a run against it', { timeout: 180_000 }, () => {
    const b = authbench(['baseline', '--trials', '3', '--no-calibration', '--out', 'reports', '--report', 'BASELINE_REPORT.md'])
    expect(b.status, b.stderr).toBe(0)
    expect(existsSync(path.join(project, 'reports', 'baseline.json'))).toBe(true)
    expect(readFileSync(path.join(project, 'BASELINE_REPORT.md'), 'utf8')).toContain('GET /items/:id over items seeded with POST /items')
    const r = authbench(['run', '--no-calibration', '--out', 'runs2'])
    expect(r.status, r.stderr).toBe(0)
    const run = spawnSync('sh', ['-c', 'ls -d runs2/*/ | tail -1'], { cwd: project, encoding: 'utf8' }).stdout.trim()
    // Same service, same load: the comparison says "no change" (exit 0). The judging config's
    // margins are wider than any drift between two runs here: at the default margins, 3 trials'
    // noise alone can put an interval past the margin, which the rank test cannot confirm at 3
    // trials, and the verdict is then "invalid" (exit 2) or "regression" by chance.
    const judge = sameServiceConfig()
    const c = authbench(['compare', path.join(run, 'result.json'), '--baseline', 'reports/baseline.json', '--config', judge])
    expect(c.status, `${c.stdout}\n${c.stderr}`).toBe(0)
    expect(c.stdout).toMatch(/reports: .*report\.md/)
    // compare leaves the run's result as it was and writes its own into a new folder.
    expect(comparisonOf(path.join(project, run, 'result.json'))).toBeUndefined()
    const written = /reports: .*?([^ ,]*result\.json)/.exec(c.stdout)?.[1] ?? ''
    expect(comparisonOf(path.isAbsolute(written) ? written : path.join(project, written))).toMatchObject({ mode: 'baseline', verdict: 'no-change', exitCode: 0 })
    // run --compare judges the run it just made: the comparison lands beside that run's result.
    const rc = authbench(['run', '--no-calibration', '--trials', '3', '--out', 'runs3', '--compare', '--baseline', 'reports/baseline.json', '--config', judge])
    expect(rc.status, `${rc.stdout}\n${rc.stderr}`).toBe(0)
    const compared = spawnSync('sh', ['-c', 'ls -d runs3/*/ | tail -1'], { cwd: project, encoding: 'utf8' }).stdout.trim()
    expect(comparisonOf(path.join(project, compared, 'result.json'))).toMatchObject({ mode: 'baseline', verdict: 'no-change', exitCode: 0 })
  })

  it('ab between two variants, one with a known injected cost, exits 1', { timeout: 240_000 }, () => {
    const r = authbench(['ab', '--a', 'fast', '--b', 'slow', '--trials', '6', '--duration', '600ms', '--warmup', '200ms', '--slot', '200ms', '--no-calibration', '--out', 'ab'])
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1)
    expect(r.stdout).toMatch(/regression/i)
  })
})

describe('what a user gets wrong, each exit 2 naming it', () => {
  const config = (name: string, text: string): string => {
    writeFileSync(path.join(project, name), text)
    return name
  }
  const target = (over: string): string => `import { defineConfig, defineTarget } from 'authbench'
export default defineConfig({
  targets: [defineTarget({ name: 'svc', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health', timeoutMs: 1500 }, ${over} })],
  scenarios: ['./items.scenario.ts'],
  load: { durationMs: 300, warmupMs: 0, trials: 1 }
})
`

  it('a bad config key names the key and the file', () => {
    const file = config('bad-key.config.ts', target("readines: { path: '/health' }"))
    const r = authbench(['run', '--config', file, '--no-calibration'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('bad-key.config.ts')
    expect(r.stderr).toContain('unknown key "readines" in targets[0]')
    expect(r.stderr).toContain('AUTHBENCH_ERR_CONFIG_INVALID')
  })

  it('a scenario file that throws in setup names the scenario', () => {
    const file = config(
      'throws.config.ts',
      `import { defineConfig } from 'authbench'
export default defineConfig({
  targets: [{ name: 'svc', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health' } }],
  scenarios: ['./throws.scenario.ts'],
  load: { durationMs: 300, warmupMs: 0, trials: 1 }
})
`
    )
    const r = authbench(['run', '--config', file, '--no-calibration', '--out', 'bad'])
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toContain('scenario "broken" setup failed: the fixture refuses to seed')
    expect(r.stderr).toContain('AUTHBENCH_ERR_SETUP_FAILED')
  })

  it('a target command that exits at once names the command', () => {
    const file = config('exits.config.ts', target('variants: {}').replace("args: ['server.mjs']", "args: ['-e', 'process.exit(3)']"))
    const r = authbench(['run', '--config', file, '--no-calibration', '--out', 'bad'])
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/the target \(.*node -e process\.exit\(3\)\) exited during start-up \(code 3/)
    expect(r.stderr).toContain('AUTHBENCH_ERR_TARGET_START')
  })

  it('a readiness path that never answers names the path', () => {
    const file = config('never-ready.config.ts', target('variants: {}').replace("readiness: { path: '/health'", "readiness: { path: '/not-here'"))
    const r = authbench(['run', '--config', file, '--no-calibration', '--out', 'bad'])
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/readiness path \/not-here did not answer 2xx .* within 1500 ms/)
    expect(r.stderr).toContain('AUTHBENCH_ERR_TARGET_START')
  })
})
