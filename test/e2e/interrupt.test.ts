// End to end: Ctrl-C during any load command exits 130 with no stack trace, whatever the command
// was doing (a capacity step, a trial, an A/B pair, a variants round).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const out = mkdtempSync(path.join(tmpdir(), 'authbench-sigint-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

/**
 * Starts the bin, waits for `ready` on stderr (the command is under way), sends SIGINT and
 * resolves with the exit code and all of stderr. Bounded: SIGKILL after `limitMs`.
 */
function interruptWhen(args: string[], ready: RegExp, limitMs = 90_000): Promise<{ status: number | null; stderr: string; interruptedAfterReady: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--out', out], { cwd: REPO_ROOT, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    let sent = false
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (!sent && ready.test(stderr)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
    child.once('error', reject)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stderr, interruptedAfterReady: sent })
    })
  })
}

const STACK = /\n\s+at [^\n]+:\d+:\d+/

describe('Ctrl-C', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['run', ['run', '--scenario', 'health', '--duration', '30s', '--trials', '1', '--no-calibration'], /measuring/],
    ['capacity', ['capacity', '--scenario', 'health', '--slo', 'p99<500ms', '--step-duration', '30s', '--warmup', '0ms'], /capacity: health/],
    ['ab', ['ab', '--a', 'baseline', '--b', 'phase1', '--scenario', 'health', '--duration', '30s', '--no-calibration'], /ab: duet/],
    ['variants', ['variants', '--scenario', 'health', '--duration', '30s', '--trials', '1', '--no-calibration'], /variants: \d+ trials/],
    ['phases (the alias)', ['phases', '--scenario', 'health', '--duration', '30s', '--trials', '1', '--no-calibration'], /variants: \d+ trials/]
  ]
  for (const [name, args, ready] of cases) {
    it(`during ${name} exits 130 with no stack trace`, async () => {
      const r = await interruptWhen(args, ready)
      expect(r.interruptedAfterReady, r.stderr).toBe(true)
      expect(r.status, r.stderr).toBe(130)
      expect(r.stderr).toMatch(/interrupted/)
      expect(r.stderr).not.toMatch(STACK)
    }, 100_000)
  }
})
