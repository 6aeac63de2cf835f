// Result files: a real result validates against harness/result.schema.json; missing, corrupt,
// incompatible and malformed files are refused with a coded error naming the problem.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ResultFileError, readResult, resultDirName, validateResult, writeResult } from '../../harness/result-io.ts'
import type { RunResult } from '../../harness/types.ts'

const fixturePath = new URL('./fixtures/summary-result.json', import.meta.url)
const load = (): RunResult => JSON.parse(readFileSync(fixturePath, 'utf8')) as RunResult
const dir = mkdtempSync(path.join(tmpdir(), 'authbench-io-'))

async function problemOf(file: string): Promise<string> {
  try {
    await readResult(file)
  } catch (err) {
    expect(err).toBeInstanceOf(ResultFileError)
    expect((err as ResultFileError).code).toBe('AUTHBENCH_ERR_RESULT_FILE')
    expect((err as Error).message).toContain(file)
    return (err as ResultFileError).problem
  }
  return 'none'
}

describe('result files', () => {
  it('a result written by a run validates against the schema and reads back equal', async () => {
    expect(validateResult(load())).toEqual([])
    const file = path.join(dir, 'nested', 'result.json')
    expect(await writeResult(file, load())).toEqual([])
    expect(await readResult(file)).toEqual(load())
  })

  it('refuses a missing file', async () => {
    expect(await problemOf(path.join(dir, 'nope.json'))).toBe('MISSING')
  })

  it('refuses a corrupt file', async () => {
    const file = path.join(dir, 'corrupt.json')
    writeFileSync(file, '{"schemaVersion": 1, "tool": ')
    expect(await problemOf(file)).toBe('CORRUPT')
  })

  it('refuses a schema version it does not know, saying how to regenerate the file', async () => {
    const file = path.join(dir, 'v4.json')
    writeFileSync(file, JSON.stringify({ ...load(), schemaVersion: 4 }))
    expect(await problemOf(file)).toBe('INCOMPATIBLE')
    await expect(readResult(file)).rejects.toThrow(/schemaVersion 4 is not one this authbench reads \(1 to 3\); regenerate it .*npx authbench baseline/)
  })

  it('reads a version-1 file (the committed baseline of before) as version 3: its fixed server fields become counters', async () => {
    const v1 = await readResult(new URL('../fixtures/results/baseline-v1.json', import.meta.url).pathname)
    expect(v1.schemaVersion).toBe(3)
    expect(validateResult(v1)).toEqual([])
    const server = v1.trials.find((t) => t.server !== null)?.server
    expect(server?.cpuSource).toBe('metrics')
    expect(Object.keys(server?.counters ?? {}).sort()).toEqual(['batchFlushes', 'cacheHits', 'cacheMisses', 'poolWaits', 'queueRejections'])
    expect(server?.series.process_cpu_user_seconds_total).toBeGreaterThan(0)
  })

  it('reads a version-2 file as version 3: preset becomes the variant, store and cache declared options, phases variants', async () => {
    const v3 = load()
    const { variant, targetOptions, ...environment } = v3.environment
    const v2 = { ...v3, schemaVersion: 2, kind: 'phases', environment: { ...environment, store: targetOptions.store ?? null, cache: null, preset: variant } }
    const file = path.join(dir, 'v2.json')
    writeFileSync(file, JSON.stringify(v2))
    const read = await readResult(file)
    expect(read.schemaVersion).toBe(3)
    expect(read.kind).toBe('variants')
    expect(read.environment.variant).toBe(variant)
    expect(read.environment.targetOptions).toEqual({ store: targetOptions.store })
    expect(validateResult(read)).toEqual([])
    // A version-2 file is checked against the version-2 schema before it is upgraded.
    writeFileSync(file, JSON.stringify({ ...v2, environment: { ...v2.environment, store: 3 } }))
    expect(await problemOf(file)).toBe('INVALID')
  })

  it('refuses a file missing a field, naming it', async () => {
    const file = path.join(dir, 'invalid.json')
    const broken = load() as unknown as Record<string, unknown>
    delete broken.environment
    writeFileSync(file, JSON.stringify(broken))
    expect(await problemOf(file)).toBe('INVALID')
    await expect(readResult(file)).rejects.toThrow(/environment/)
  })

  it('flags an unknown trial field (types and schema drifting apart)', () => {
    const r = load()
    ;(r.trials[0] as unknown as Record<string, unknown>).surprise = 1
    expect(validateResult(r).join(' ')).toContain('surprise')
  })

  it('names result folders <timestamp>-<label>', () => {
    expect(resultDirName(new Date('2026-01-02T03:04:05.678Z'), 'my run/1')).toBe('2026-01-02T03-04-05Z-my-run-1')
  })
})
