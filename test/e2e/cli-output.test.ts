// End to end: what a CI step sees from the `authbench` bin. With --json, stdout is one JSON
// document and nothing else, for every command that has the option, on success and on failure;
// with CI set and no terminal there is no ANSI escape anywhere; and the exit codes are 0 (no
// regression), 1 (regression) and 2 (bad input), as documented.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { describeCommands } from '../../harness/cli/cli.ts'
import { writeResult } from '../../harness/result-io.ts'
import { makeRun } from '../fixtures/results/build.ts'
import type { ScenarioShape } from '../fixtures/results/build.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = path.join(ROOT, 'harness/bin/authbench.js')
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // Pipes, not a terminal, and CI set: as on a CI runner.
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CI: 'true', GITHUB_STEP_SUMMARY: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

/** The whole of stdout parses as one JSON value. */
function onlyJson(r: Ran): Record<string, unknown> {
  expect(() => JSON.parse(r.stdout), `stdout is not one JSON document:\n${r.stdout.slice(0, 400)}`).not.toThrow()
  return JSON.parse(r.stdout) as Record<string, unknown>
}

const SHAPE: ScenarioShape = { trials: 4, throughputRps: 10_000, p50Us: 800, samplesPerTrial: 500 }
let dir = ''

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-cli-'))
  await writeResult(path.join(dir, 'base.json'), makeRun({ label: 'base', seed: 1, scenarios: { health: SHAPE } }))
  await writeResult(path.join(dir, 'same.json'), makeRun({ label: 'same', seed: 2, scenarios: { health: SHAPE } }))
  await writeResult(path.join(dir, 'slow.json'), makeRun({ label: 'slow', seed: 3, scenarios: { health: { ...SHAPE, throughputRps: 7_000, p50Us: 1_200 } } }))
})

describe('the authbench bin in CI', () => {
  it('compare: exit 1 on a regression, 0 without; --json puts only the comparison on stdout', async () => {
    const [slow, same, plain] = await Promise.all([
      cli(['compare', path.join(dir, 'slow.json'), '--baseline', path.join(dir, 'base.json'), '--out', path.join(dir, 'r1'), '--json']),
      cli(['compare', path.join(dir, 'same.json'), '--baseline', path.join(dir, 'base.json'), '--out', path.join(dir, 'r2'), '--json']),
      cli(['compare', path.join(dir, 'slow.json'), '--baseline', path.join(dir, 'base.json'), '--out', path.join(dir, 'r3')])
    ])
    expect(slow.status, slow.stderr).toBe(1)
    const comparison = onlyJson(slow).comparison as { verdict: string; headline: string }
    expect(comparison.verdict).toBe('regression')
    expect(slow.stderr).toContain(comparison.headline)
    expect(same.status, same.stderr).not.toBe(1)
    expect([0, 2]).toContain(same.status)
    expect((onlyJson(same).comparison as { exitCode: number }).exitCode).toBe(same.status)
    // Without --json the headline is on stdout, for people.
    expect(plain.status).toBe(1)
    expect(plain.stdout).toMatch(/^authbench .*REGRESSION/)
    for (const r of [slow, same, plain]) expect(`${r.stdout}${r.stderr}`).not.toMatch(ANSI)
  }, 60_000)

  it('covers every command that has --json (a new one must be added to the cases below)', () => {
    const withJson = [...describeCommands()]
      .filter(([, options]) => options.includes('--json'))
      .map(([name]) => name)
      .sort()
    expect(withJson).toEqual(['ab', 'compare', 'import-k6', 'run'])
  })

  it('every command with --json prints a JSON error object, exit 2, when it fails on bad input', async () => {
    const runs = await Promise.all([
      cli(['compare', path.join(dir, 'missing.json'), '--json']),
      cli(['run', '--scenario', 'no-such-scenario', '--json']),
      cli(['ab', '--a', 'no-such-ref-or-preset', '--b', 'HEAD', '--json']),
      cli(['import-k6', '--scenario', 'validate', path.join(dir, 'missing-summary.json'), '--json']),
      cli(['run', '--duration', 'soon', '--json'])
    ])
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(2)
      const error = onlyJson(r).error as { exitCode: number; messages: string[] }
      expect(error.exitCode).toBe(2)
      expect(error.messages.join('\n')).toMatch(/\S/)
      expect(r.stderr).not.toMatch(ANSI)
    }
  }, 60_000)

  it('import-k6 --json prints the imported result and nothing else', async () => {
    const r = await cli(['import-k6', '--scenario', 'validate', path.join(ROOT, 'test/fixtures/k6/summary-export.json'), '--out', path.join(dir, 'k6'), '--json'])
    expect(r.status, r.stderr).toBe(0)
    expect(onlyJson(r).scenarios).toEqual(['validate'])
  })

  it('run --json against the real target: stdout is the result, progress goes to stderr as plain lines', async () => {
    const r = await cli(['run', '--scenario', 'health', '--duration', '500ms', '--warmup', '0s', '--trials', '1', '--no-calibration', '--out', path.join(dir, 'run'), '--json'])
    expect(r.status, r.stderr).toBe(0)
    const result = onlyJson(r) as { kind: string; trials: unknown[] }
    expect(result.kind).toBe('run')
    expect(result.trials).toHaveLength(1)
    expect(r.stderr).toMatch(/result written to/)
    expect(`${r.stdout}${r.stderr}`).not.toMatch(ANSI)
  }, 60_000)
})
