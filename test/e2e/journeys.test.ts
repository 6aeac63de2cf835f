// Journeys end to end, through the `authbench` bin in a project of the user's own (a REST service,
// test/fixtures/rest-service): per-step figures in the result, SLOs on a step and on checks,
// a gate that fails on check failures and names them, stages that follow the ramp exactly, and
// HTTPS with a self-signed certificate in both models.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import type { RunResult } from '../../harness/types.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const temp = mkdtempSync(path.join(tmpdir(), 'authbench-journeys-'))
const dir = path.join(temp, 'rest')
afterAll(() => rmSync(temp, { recursive: true, force: true }))

beforeAll(() => {
  mkdirSync(dir)
  for (const file of ['server.mjs', 'authbench.config.ts']) cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'rest-service', file), path.join(dir, file))
  cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'tls'), path.join(dir, 'tls'), { recursive: true })
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'rest', type: 'module', private: true }))
  mkdirSync(path.join(dir, 'node_modules'))
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'authbench'), 'dir')
})

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

function authbench(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, CI: 'true' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

function resultIn(out: string): RunResult {
  const newest = readdirSync(out)
    .filter((d) => existsSync(path.join(out, d, 'result.json')))
    .sort()
    .at(-1) as string
  return JSON.parse(readFileSync(path.join(out, newest, 'result.json'), 'utf8')) as RunResult
}

const quick = ['--scenario', 'crud', '--duration', '1s', '--warmup', '300ms', '--warmup-max', '300ms', '--no-calibration', '--no-progress']

describe('a journey through the CLI', () => {
  it('run records every step; objectives on a step and on checks hold', { timeout: 120_000 }, async () => {
    const out = path.join(temp, 'run')
    const r = await authbench(['run', ...quick, '--trials', '2', '--slo', 'step:read:p99<2s', '--slo', 'checks<0.5%', '--slo', 'iterations:throughput>=1', '--out', out])
    expect(r.status, r.stderr + r.stdout).toBe(0)
    const result = resultIn(out)
    expect(result.environment.driver).toBe('journey-closed')
    // A run writes its own report.md and report.html beside result.json.
    const runDir = path.join(out, readdirSync(out)[0] as string)
    expect(readFileSync(path.join(runDir, 'report.md'), 'utf8')).toMatch(/\| crud \|/)
    expect(readFileSync(path.join(runDir, 'report.html'), 'utf8')).toContain('data-chart="spectrum"')
    const trial = result.trials[0]
    expect(Object.keys(trial?.journey?.steps ?? {})).toEqual(['create', 'read', 'update', 'patch', 'delete'])
    expect(trial?.journey?.checks.failures).toBe(0)
    const summary = result.summary[0]
    expect(summary?.steps?.read?.latencyUs.count).toBe(result.trials.reduce((a, t) => a + (t.journey?.steps.read?.requests ?? 0), 0))
    expect(summary?.slo?.map((s) => [s.expression, s.passed])).toEqual([
      ['step:read:p99<2s', true],
      ['checks<0.5%', true],
      ['iterations:throughput>=1', true]
    ])
  })

  it('a check failing on 1% of reads fails a checks objective (exit 1) and the gate against a clean baseline', { timeout: 180_000 }, async () => {
    const out = path.join(temp, 'gate')
    // Five trials a side: with three, the rank test's smallest p (0.1) could not call any change.
    const base = await authbench(['run', ...quick, '--trials', '5', '--label', 'clean', '--out', out])
    expect(base.status, base.stderr).toBe(0)
    const baselineFile = path.join(out, readdirSync(out).find((d) => d.endsWith('clean')) as string, 'result.json')
    const bad = await authbench(['run', ...quick, '--trials', '5', '--label', 'bad', '--target-env', 'CHECK_FAIL_EVERY=100', '--slo', 'checks<0.5%', '--out', out])
    expect(bad.status, bad.stderr).toBe(1)
    const badFile = path.join(out, readdirSync(out).find((d) => d.endsWith('bad')) as string, 'result.json')
    const badResult = JSON.parse(readFileSync(badFile, 'utf8')) as RunResult
    const rate = badResult.summary[0]?.checks?.failureRate ?? 0
    expect(rate).toBeGreaterThan(0.008)
    expect(rate).toBeLessThan(0.012)
    const gate = await authbench(['compare', badFile, '--baseline', baselineFile])
    expect(gate.status, gate.stderr + gate.stdout).toBe(1)
    expect(gate.stdout).toMatch(/REGRESSION: crud check failures \+[01]\.[0-9]+ pp/)
  })

  it('ab between two variants judges each step and the checks, and names the check failures it gates on', { timeout: 180_000 }, async () => {
    const out = path.join(temp, 'ab')
    const r = await authbench([
      'ab',
      '--a',
      'plain',
      '--b',
      'flaky',
      '--scenario',
      'crud',
      '--trials',
      '6',
      '--duration',
      '1s',
      '--warmup',
      '300ms',
      '--no-calibration',
      '--no-progress',
      '--out',
      out
    ])
    expect(r.status, r.stderr + r.stdout).toBe(1)
    expect(r.stdout).toMatch(/REGRESSION: crud check failures \+[12]\.[0-9]+ pp/)
    expect(r.stdout).toMatch(/journey step series/)
    const result = resultIn(out)
    expect(result.trials.filter((t) => t.arm === 'B').every((t) => (t.journey?.checks.failures ?? 0) > 0)).toBe(true)
    expect(result.trials.filter((t) => t.arm === 'A').every((t) => t.journey?.checks.failures === 0)).toBe(true)
  })

  it('capacity searches a journey in iterations per second under a step objective', { timeout: 120_000 }, async () => {
    const out = path.join(temp, 'capacity')
    const r = await authbench([
      'capacity',
      '--scenario',
      'crud',
      '--slo',
      'step:read:p99<50ms',
      '--slo',
      'checks<1%',
      '--start-rate',
      '100',
      '--max-rate',
      '200',
      '--step-duration',
      '1s',
      '--warmup',
      '300ms',
      '--repeats',
      '1',
      '--no-progress',
      '--out',
      out
    ])
    expect(r.status, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toMatch(/crud: capacity ≥ 200 iterations\/s at step:read:p99<50ms, checks<1%/)
  })

  it('an objective on a step no journey has is a usage error naming the steps (exit 2)', { timeout: 60_000 }, async () => {
    const r = await authbench(['run', ...quick, '--trials', '1', '--slo', 'step:raed:p99<2s', '--out', path.join(temp, 'typo')])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/no scenario of this run has step "raed" \(steps: create, read, update, patch, delete\)/)
  })

  it('stages in the open model follow the ramp exactly', { timeout: 60_000 }, async () => {
    const out = path.join(temp, 'stages')
    const r = await authbench([
      'run',
      '--scenario',
      'crud',
      '--rate',
      '40',
      '--stages',
      '1s:120,500ms:120',
      '--warmup',
      '0',
      '--trials',
      '1',
      '--no-calibration',
      '--no-progress',
      '--out',
      out
    ])
    expect(r.status, r.stderr + r.stdout).toBe(0)
    const trial = resultIn(out).trials[0]
    // 40 → 120 over 1 s is 80 iterations, then 120/s for 0.5 s is 60.
    expect(trial?.journey?.iterations.started).toBe(140)
    expect(trial?.journey?.iterations.completed).toBe(140)
    expect(trial?.journey?.steps.delete?.requests).toBe(140)
  })

  for (const model of ['closed', 'open'] as const) {
    it(`HTTPS with a self-signed certificate, ${model} model: refused without --insecure, measured with it`, { timeout: 60_000 }, async () => {
      const out = path.join(temp, `tls-${model}`)
      const load = model === 'open' ? ['--rate', '100'] : []
      const refused = await authbench(['run', ...quick, ...load, '--target', 'rest-tls', '--trials', '1', '--out', out])
      expect(refused.status).toBe(2)
      expect(refused.stderr).toMatch(/not trusted .*self[- ]signed certificate.*give --insecure/)
      const r = await authbench(['run', ...quick, ...load, '--target', 'rest-tls', '--insecure', '--trials', '1', '--out', out])
      expect(r.status, r.stderr + r.stdout).toBe(0)
      const trial = resultIn(out).trials[0]
      expect(trial?.validity.state).toBe('valid')
      expect(trial?.journey?.steps.delete?.requests).toBeGreaterThan(0)
      expect(trial?.journey?.iterations.failed).toBe(0)
    })
  }
})
