// End-to-end: `authbench run` as a user runs it, against the real target, for every scenario.
// Each run is short (2 s, one trial) because the machine is shared; the result file must match
// the schema. Also: a target killed mid-trial, a non-loopback URL, an unknown scenario.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readResult } from '../../harness/result-io.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = ['--import', 'tsx', 'harness/cli/cli.ts', 'run']

function runCli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function resultFile(outDir: string): string {
  const dirs = readdirSync(outDir)
  expect(dirs).toHaveLength(1)
  return path.join(outDir, dirs[0] as string, 'result.json')
}

describe('authbench run (end to end)', () => {
  for (const scenario of ['health', 'token', 'ott', 'validate', 'revoke', 'mixed']) {
    it(`runs ${scenario} and writes a result that matches the schema`, async () => {
      const out = mkdtempSync(path.join(tmpdir(), `authbench-e2e-${scenario}-`))
      // Calibration only once (with health) to keep the suite short.
      const extra = scenario === 'health' ? [] : ['--no-calibration']
      const r = runCli(['--scenario', scenario, '--duration', '2s', '--warmup', '500ms', '--trials', '1', '--out', out, '--no-progress', ...extra])
      expect(r.stderr).not.toMatch(/warning: result does not match/)
      expect(r.status, r.stderr).toBe(0)
      const result = await readResult(resultFile(out))
      expect(result.scenarios).toEqual([scenario])
      expect(result.trials).toHaveLength(1)
      expect(result.trials[0]?.validity, JSON.stringify(result.trials[0]?.validity)).toEqual({ state: 'valid' })
      expect(result.trials[0]?.requests).toBeGreaterThan(100)
      expect(result.trials[0]?.server?.cpuUsPerRequest).toBeGreaterThan(0)
      expect(result.environment.targetConfig).not.toBeNull()
      if (scenario === 'health') expect(result.calibration?.throughputRps).toBeGreaterThan(0)
      expect(r.stdout).toContain(scenario)
    })
  }

  it('--json prints the result to stdout and nothing else', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-json-'))
    const r = runCli(['--scenario', 'health', '--duration', '1s', '--warmup', '0s', '--trials', '1', '--out', out, '--no-calibration', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const printed = JSON.parse(r.stdout) as { label: string }
    expect(printed).toEqual(await readResult(resultFile(out)))
  })

  it('a target killed mid-trial gives exit 2 and a partial result within 10 s', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-kill-'))
    const child = spawn(process.execPath, [...CLI, '--scenario', 'health,validate', '--duration', '20s', '--warmup', '0s', '--trials', '2', '--out', out, '--no-calibration'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    const measuring = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        if (stderr.includes('health #1 1s')) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await measuring
    // The target is the CLI's child process running target/server.ts.
    const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' })
    const targetPid = Number(
      ps.stdout
        .split('\n')
        .find((l) => l.includes('target/server.ts'))
        ?.trim()
        .split(/\s+/)[0]
    )
    expect(targetPid).toBeGreaterThan(0)
    const killedAt = Date.now()
    process.kill(targetPid, 'SIGKILL')
    const code = await exited
    expect(Date.now() - killedAt).toBeLessThan(10_000)
    // 2, not 1: an incomplete run must not read as a regression in CI.
    expect(code).toBe(2)
    const result = await readResult(resultFile(out))
    expect(result.aborted?.code).toBe('AUTHBENCH_ERR_TARGET_CRASHED')
    expect(result.trials).toHaveLength(1)
    expect(result.trials[0]?.validity).toMatchObject({ state: 'invalid', code: 'TARGET_CRASHED' })
    expect(result.trials[0]?.requests).toBeGreaterThan(0)
  }, 40_000)

  it('refuses a non-loopback --url with exit 2', () => {
    const r = runCli(['--url', 'http://10.0.0.1:3000', '--scenario', 'health'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('10.0.0.1')
  })

  it('an unknown scenario exits 2 naming it', () => {
    const r = runCli(['--scenario', 'health,nope'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('"nope"')
  })

  it('an unknown option exits 2 naming it', () => {
    const r = runCli(['--frobnicate'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('--frobnicate')
  })
})
