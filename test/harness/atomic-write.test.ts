// Result files are written atomically: a process killed in the middle of writing one leaves the
// old file or the new one, never half of one. A control run with a plain writeFile shows the
// check can fail. Also: --out is checked before any load, and compare refuses a truncated or
// foreign file with exit 2, naming it and the problem.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { assertWritableDir, ensureDir, readResult } from '../../harness/result-io.ts'
import { sleep } from '../helpers/time.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BASELINE = path.join(ROOT, 'reports', 'baseline.json')

/** Start the writer; once it has written the first file, SIGKILL it the moment `midWrite()` is true. */
async function killMidWrite(mode: 'atomic' | 'direct'): Promise<{ text: string; caughtMidWrite: boolean }> {
  const dir = mkdtempSync(path.join(tmpdir(), `authbench-atomic-${mode}-`))
  const file = path.join(dir, 'result.json')
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/atomic-writer.ts', file, mode, BASELINE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((r) => child.once('exit', r))
  let fullBytes = 0
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString())
      if (m) {
        fullBytes = Number(m[1])
        resolve()
      }
    })
  )
  const midWrite = (): boolean =>
    mode === 'atomic'
      ? readdirSync(dir).some((f) => f.endsWith('.tmp'))
      : (() => {
          const size = statSync(file).size
          return size > 0 && size < fullBytes
        })()
  let caught = false
  const deadline = Date.now() + 20_000
  while (!caught && Date.now() < deadline) {
    if (midWrite()) {
      child.kill('SIGKILL')
      caught = true
      break
    }
    await sleep(0)
  }
  if (!caught) child.kill('SIGKILL')
  await exited
  return { text: readFileSync(file, 'utf8'), caughtMidWrite: caught }
}

describe('atomic result files', () => {
  it('killed mid-write, writeResult leaves the old file or the new one, whole', async () => {
    for (let round = 0; round < 3; round++) {
      const { text, caughtMidWrite } = await killMidWrite('atomic')
      expect(caughtMidWrite).toBe(true)
      const label = (JSON.parse(text) as { label: string }).label
      expect(label).toMatch(/^(old|new-\d+)$/)
    }
  }, 90_000)

  it('control: a plain writeFile killed mid-write leaves half a file, which the check above would catch', async () => {
    const { text, caughtMidWrite } = await killMidWrite('direct')
    expect(caughtMidWrite).toBe(true)
    expect(() => JSON.parse(text)).toThrow()
  }, 60_000)
})

function cli(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stderr: r.stderr, stdout: r.stdout }
}

describe('bad files and paths are refused before any work', () => {
  it('run --out that cannot be written: exit 2 naming it, before a target is started', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authbench-out-'))
    const blocker = path.join(dir, 'a-file')
    writeFileSync(blocker, 'not a directory')
    const out = path.join(blocker, 'reports')
    const r = cli(['run', '--scenario', 'health', '--duration', '2s', '--trials', '1', '--out', out, '--no-progress'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(out)
    expect(r.stderr).toMatch(/not writable/)
    // Nothing was started: no target, no trial, no result.
    expect(r.stderr).not.toMatch(/listening|trial/i)
    expect(readdirSync(dir)).toEqual(['a-file'])
  }, 60_000)

  // procfs answers ENOENT for a new child even though its parent exists: Node's own recursive
  // mkdir loops on that forever, so a --out there once hung `run` with load never refused.
  it.runIf(process.platform === 'linux')(
    'run --out under /proc: exit 2 within seconds, not a hang',
    () => {
      const out = `/proc/authbench-nope-${process.pid}/reports`
      const started = Date.now()
      const r = cli(['run', '--scenario', 'health', '--duration', '2s', '--trials', '1', '--out', out, '--no-progress'])
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr).toContain(out)
      expect(r.stderr).toMatch(/not writable \(ENOENT\)/)
      expect(r.stderr).not.toMatch(/listening|trial/i)
      expect(Date.now() - started).toBeLessThan(30_000)
    },
    60_000
  )

  it('ensureDir makes every missing level, accepts an existing folder, and settles with an error code where it cannot', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authbench-ensure-'))
    const deep = path.join(dir, 'a', 'b', 'c')
    await ensureDir(deep)
    expect(statSync(deep).isDirectory()).toBe(true)
    await ensureDir(deep)
    writeFileSync(path.join(dir, 'file'), '')
    await expect(ensureDir(path.join(dir, 'file', 'x'))).rejects.toMatchObject({ code: 'ENOTDIR' })
    await expect(ensureDir(path.join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' })
    if (process.platform === 'linux') {
      await expect(ensureDir(`/proc/authbench-nope-${process.pid}/x`)).rejects.toMatchObject({ code: 'ENOENT' })
      await expect(assertWritableDir('/proc/authbench-nope')).rejects.toThrow(/--out \/proc\/authbench-nope is not writable \(ENOENT\): no load was started/)
    }
  })

  it('compare given a truncated result or a foreign JSON file: exit 2, naming the file and the problem', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authbench-bad-'))
    const truncated = path.join(dir, 'truncated.json')
    const text = readFileSync(BASELINE, 'utf8')
    writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)))
    const foreign = path.join(dir, 'package.json')
    writeFileSync(foreign, readFileSync(path.join(ROOT, 'package.json')))
    await expect(readResult(truncated)).rejects.toThrow(/not valid JSON/)
    for (const [file, problem] of [
      [truncated, /not valid JSON/],
      [foreign, /schemaVersion/]
    ] as const) {
      for (const args of [
        ['compare', file, '--baseline', BASELINE],
        ['compare', BASELINE, '--baseline', file]
      ]) {
        const r = cli([...args, '--out', dir])
        expect(r.status, r.stderr).toBe(2)
        expect(r.stderr).toContain(file)
        expect(r.stderr).toMatch(problem)
      }
    }
  }, 90_000)
})
