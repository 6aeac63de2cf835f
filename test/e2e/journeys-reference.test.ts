// End to end, through the `authbench` bin as a user runs it: the reference target's two journeys
// (client-session, ott-flow) on the embedded default and on PostgreSQL + Redis. On a correct
// target no check and no iteration fails and `--slo 'checks<0.1%'` holds (exit 0); with the
// test-only INJECT_FORGET_REVOCATIONS every revoked token still validates, client-session's check
// 'revoked token is refused' fails, and the objective fails the run (exit 1, never 2: the target
// answered, wrongly).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { readResult } from '../../harness/result-io.ts'
import type { RunResult, TrialResult } from '../../harness/types.ts'
import { JOURNEY_CHECKS, JOURNEY_STEPS } from '../../scenarios/catalog.ts'
import { postgresUrl, redisUrl } from '../helpers/services.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const temp = mkdtempSync(path.join(tmpdir(), 'authbench-journeys-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

interface Ran {
  status: number | null
  stdout: string
  stderr: string
  result: RunResult
}

let runs = 0
/** `authbench run` with a short fixed warm-up, one 2 s trial and `extra`; its result file read back. */
async function run(scenarios: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const out = path.join(temp, `run-${runs++}`)
  const args = [
    'run',
    '--scenario',
    scenarios,
    '--duration',
    '2s',
    '--trials',
    '1',
    '--warmup',
    '500ms',
    '--warmup-max',
    '1s',
    '--no-calibration',
    '--no-progress',
    '--out',
    out,
    ...extra
  ]
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true', ...env } })
  const dirs = existsSync(out) ? readdirSync(out).filter((d) => existsSync(path.join(out, d, 'result.json'))) : []
  expect(dirs, `no result.json (exit ${r.status}): ${r.stderr}`).toHaveLength(1)
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, result: await readResult(path.join(out, dirs[0] as string, 'result.json')) }
}

function trialOf(result: RunResult, scenario: string): TrialResult {
  const trial = result.trials.find((t) => t.scenario === scenario)
  expect(trial, `no trial of ${scenario}`).toBeDefined()
  return trial as TrialResult
}

/** A correct target: a valid trial, iterations that all completed, not one failed check, and steps that add up. */
function expectCorrect(result: RunResult): void {
  for (const scenario of ['client-session', 'ott-flow']) {
    const trial = trialOf(result, scenario)
    expect(trial.validity, `${scenario}: ${JSON.stringify(trial.validity)}`).toEqual({ state: 'valid' })
    const j = trial.journey
    expect(j, `${scenario} has no journey figures`).toBeDefined()
    if (j === undefined) return
    expect(j.iterations.failed, JSON.stringify(j.iterations.failures)).toBe(0)
    expect(j.iterations.completed).toBeGreaterThan(50)
    expect(j.checks.failures, JSON.stringify(j.checks.byName)).toBe(0)
    const refused = scenario === 'client-session' ? JOURNEY_STEPS.validateRevoked : JOURNEY_STEPS.validateSpent
    expect(j.steps[refused]?.statusCounts).toEqual({ '401': j.iterations.completed })
    expect(trial.errors).toBe(0)
  }
  const summary = result.summary.find((s) => s.scenario === 'client-session')
  expect(summary?.slo?.map((s) => [s.expression, s.passed])).toEqual([['checks<0.1%', true]])
}

describe('the reference journeys, end to end', () => {
  it('on the embedded default: no failed check or iteration, and checks<0.1% holds', async () => {
    const r = await run('client-session,ott-flow', ['--slo', 'checks<0.1%'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/result does not match the schema/)
    expectCorrect(r.result)
    expect(r.result.environment.targetConfig?.injectForgetRevocations).toBe(false)
  }, 120_000)

  it('with INJECT_FORGET_REVOCATIONS=1: every revoked token validates, the check fails and so does the objective (exit 1)', async () => {
    const r = await run('client-session', ['--slo', 'checks<0.1%', '--target-env', 'INJECT_FORGET_REVOCATIONS=1'])
    expect(r.status, r.stderr).toBe(1)
    const trial = trialOf(r.result, 'client-session')
    const j = trial.journey
    expect(j?.checks.failures).toBeGreaterThan(0)
    expect(j?.checks.byName[JOURNEY_CHECKS.revokedRefused]).toEqual({ passes: 0, failures: j?.iterations.completed })
    // A check failure, not a step failure: every iteration ran to its end and no answer was an error.
    expect(j?.iterations.failed).toBe(0)
    expect(trial.errors).toBe(0)
    expect(r.result.summary[0]?.slo?.[0]).toMatchObject({ expression: 'checks<0.1%', passed: false })
    expect(r.result.environment.targetConfig?.injectForgetRevocations).toBe(true)
  }, 120_000)

  it('refuses a bad INJECT_FORGET_REVOCATIONS before anything starts, naming it (exit 2)', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--scenario', 'client-session', '--target-env', 'INJECT_FORGET_REVOCATIONS=yes', '--out', path.join(temp, 'bad')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, CI: 'true' }
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/INJECT_FORGET_REVOCATIONS/)
  })

  it('on PostgreSQL + Redis: no failed check or iteration, and checks<0.1% holds', async () => {
    const databaseUrl = await postgresUrl('the journeys on PostgreSQL + Redis')
    const cacheUrl = await redisUrl('the journeys on PostgreSQL + Redis')
    if (databaseUrl === null || cacheUrl === null) return
    const r = await run('client-session,ott-flow', ['--store', 'postgres', '--cache', 'redis', '--slo', 'checks<0.1%'], { DATABASE_URL: databaseUrl, REDIS_URL: cacheUrl })
    expect(r.status, r.stderr).toBe(0)
    expect(r.result.environment.targetConfig).toMatchObject({ store: 'postgres', cache: 'redis' })
    expectCorrect(r.result)
  }, 180_000)
})
