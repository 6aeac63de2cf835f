// `authbench run --driver k6` (k6RunCommand) and `authbench import-k6`: without k6 on PATH it
// says so and exits 2; a remote URL is refused; with a stand-in k6 (a shell script that answers
// `version` and writes a fixture summary) the whole path runs and writes a readable result.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { importK6Command, k6RunCommand, parseK6Version } from '../../harness/cli/commands/k6.ts'
import { readResult } from '../../harness/result-io.ts'

const FIXTURES = fileURLToPath(new URL('../fixtures/k6/', import.meta.url))

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return { io: { stdout: (t) => (out += t), stderr: (t) => (err += t) }, out: () => out, err: () => err }
}

/** A directory holding a fake `k6`: prints `versionLine`, copies `summary` to --summary-export, exits `code`. */
function fakeK6(versionLine: string, summary: string, code: number): { dir: string; argsFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'authbench-fake-k6-'))
  const argsFile = path.join(dir, 'args.txt')
  const script = `#!/bin/sh
if [ "$1" = "version" ]; then echo "${versionLine}"; exit 0; fi
echo "$@" >> "${argsFile}"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--summary-export" ]; then out="$2"; fi
  shift
done
/bin/cp "${path.join(FIXTURES, summary)}" "$out"
exit ${code}
`
  writeFileSync(path.join(dir, 'k6'), script)
  chmodSync(path.join(dir, 'k6'), 0o755)
  return { dir, argsFile }
}

describe('k6RunCommand', () => {
  it('without k6 on PATH: says so and exits 2', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'authbench-no-k6-'))
    const c = capture()
    const code = await k6RunCommand({ scenario: 'health', url: 'http://127.0.0.1:3000', env: { PATH: empty } }, c.io)
    expect(code).toBe(2)
    expect(c.err()).toMatch(/k6 is not installed/)
    expect(c.err()).toMatch(/v0\.57\.0 or later/)
  })

  it('refuses a non-loopback BASE_URL unless allowRemote, before looking for k6', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'authbench-no-k6-'))
    const c = capture()
    expect(await k6RunCommand({ scenario: 'health', url: 'http://10.1.2.3:3000', env: { PATH: empty } }, c.io)).toBe(2)
    expect(c.err()).toMatch(/not loopback/)
    const d = capture()
    expect(await k6RunCommand({ scenario: 'health', url: 'http://10.1.2.3:3000', allowRemote: true, env: { PATH: empty } }, d.io)).toBe(2)
    expect(d.err()).toMatch(/k6 is not installed/)
  })

  it('refuses a k6 older than v0.57 (no native TypeScript)', async () => {
    const fake = fakeK6('k6 v0.56.0 (go1.22.5, linux/amd64)', 'summary-export.json', 0)
    const c = capture()
    expect(await k6RunCommand({ scenario: 'health', url: 'http://127.0.0.1:3000', env: { PATH: fake.dir } }, c.io)).toBe(2)
    expect(c.err()).toMatch(/too old/)
  })

  it('runs the script per trial, imports each summary and writes a result compare can read', async () => {
    const fake = fakeK6('k6 v1.0.0 (commit/41b4984b75, go1.24.2, linux/amd64)', 'summary-export.json', 0)
    const outDir = mkdtempSync(path.join(tmpdir(), 'authbench-k6-out-'))
    const c = capture()
    const code = await k6RunCommand(
      {
        scenario: 'validate',
        url: 'http://127.0.0.1:3000/',
        model: 'open',
        rateRps: 2000,
        vus: 64,
        durationMs: 5000,
        trials: 2,
        outDir,
        label: 'k6-validate',
        env: { PATH: fake.dir },
        baseline: { p95Us: 2500 }
      },
      c.io
    )
    expect(c.err()).not.toMatch(/does not match the schema/)
    expect(code).toBe(0)
    const args = readFileSync(fake.argsFile, 'utf8').trim().split('\n')
    expect(args).toHaveLength(2)
    for (const word of [
      'run',
      '-e MODEL=open',
      '-e RATE=2000',
      '-e VUS=64',
      '-e DURATION=5s',
      '-e BASE_URL=http://127.0.0.1:3000 ',
      '-e BASELINE_P95_US=2500',
      'scenarios/k6/validate.ts'
    ]) {
      expect(args[0]).toContain(word)
    }
    const [dir] = readdirSync(outDir)
    const result = await readResult(path.join(outDir, dir as string, 'result.json'))
    expect(result.environment.driver).toBe('k6')
    expect(result.trials.map((t) => [t.trial, t.source, t.requests])).toEqual([
      [0, 'k6', 9990],
      [1, 'k6', 9990]
    ])
    expect(result.trials[0]?.k6?.k6Version).toBe('1.0.0')
    expect(result.load.validate?.rateRps).toBe(2000)
    expect(result.summary[0]?.source).toBe('k6')
    expect(readdirSync(path.join(outDir, dir as string)).sort()).toEqual(['k6-summary-0.json', 'k6-summary-1.json', 'result.json'])
  })

  it('a failed k6 threshold (k6 exit 99) still writes the result and exits 1', async () => {
    const fake = fakeK6('k6 v0.57.0 (go1.23.4, linux/amd64)', 'summary-export-threshold-failed.json', 99)
    const outDir = mkdtempSync(path.join(tmpdir(), 'authbench-k6-out-'))
    const c = capture()
    expect(await k6RunCommand({ scenario: 'validate', url: 'http://127.0.0.1:3000', outDir, env: { PATH: fake.dir } }, c.io)).toBe(1)
    expect(c.out()).toMatch(/thresholds FAILED: http_req_duration\{authbench:measure\} p\(95\)<=2\.700/)
  })

  it('asks for the machine-readable summary only from a k6 that has it', async () => {
    const fake = fakeK6('k6 v1.0.0 (go1.24.2, linux/amd64)', 'new-summary.json', 0)
    const c = capture()
    expect(
      await k6RunCommand(
        { scenario: 'token', url: 'http://127.0.0.1:3000', summaryFormat: 'machine-readable', outDir: mkdtempSync(path.join(tmpdir(), 'o-')), env: { PATH: fake.dir } },
        c.io
      )
    ).toBe(2)
    expect(c.err()).toMatch(/needs k6 v1\.5\.0/)
  })

  it('parses `k6 version` output of old and new k6', () => {
    expect(parseK6Version('k6 v0.57.0 (go1.23.4, linux/amd64)')).toEqual({ major: 0, minor: 57, patch: 0 })
    expect(parseK6Version('k6 v1.2.3 (commit/abcdef, go1.24.2, linux/amd64)\nExtensions:\n')).toEqual({ major: 1, minor: 2, patch: 3 })
    expect(parseK6Version('nope')).toBeNull()
  })
})

describe('importK6Command', () => {
  it('merges the runner summaries of each distributed run (one directory per run) into one trial', async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), 'authbench-k6-import-'))
    const runs = mkdtempSync(path.join(tmpdir(), 'authbench-k6-runs-'))
    const files: string[] = []
    for (const run of ['run1', 'run2', 'run3']) {
      mkdirSync(path.join(runs, run))
      for (const runner of ['runner-1', 'runner-2']) {
        const file = path.join(runs, run, `${runner}.json`)
        writeFileSync(file, readFileSync(path.join(FIXTURES, 'summary-export.json')))
        files.push(file)
      }
    }
    const c = capture()
    expect(await importK6Command(files, { scenario: 'validate', mode: 'runners', durationMs: 5000, rateRps: 4000, vus: 64, outDir }, c.io)).toBe(0)
    const [dir] = readdirSync(outDir)
    const result = await readResult(path.join(outDir, dir as string, 'result.json'))
    expect(result.trials.map((t) => [t.trial, t.requests, t.k6?.runners])).toEqual([
      [0, 19980, 2],
      [1, 19980, 2],
      [2, 19980, 2]
    ])
  })

  it('exits 2 on a file that is not a k6 summary', async () => {
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'bad-')), 'x.json')
    writeFileSync(bad, '{"hello": 1}')
    const c = capture()
    expect(await importK6Command([bad], { scenario: 'validate', outDir: mkdtempSync(path.join(tmpdir(), 'o-')) }, c.io)).toBe(2)
    expect(c.err()).toMatch(/is not a k6 summary/)
  })
})
