// Reading and writing result files. Every read is validated against harness/result.schema.json,
// so `compare` and the reporters never work on a file they misunderstand: a missing, corrupt or
// incompatible file is a ResultFileError naming the file and the problem.
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv2020Module from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { ErrorObject, ValidateFunction } from 'ajv'
import type { RunResult } from './types.ts'
import { RESULT_SCHEMA_VERSION } from './types.ts'
import { BadOptionError, ResultFileError } from './errors.ts'

export const RESULT_SCHEMA_PATH = fileURLToPath(new URL('./result.schema.json', import.meta.url))

export { ResultFileError } from './errors.ts'
export type { ResultFileProblem } from './errors.ts'

// ajv ships CommonJS: under NodeNext its default export arrives wrapped once more.
type AjvCtor = typeof Ajv2020Module.default
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvCtor }).default ?? Ajv2020Module) as AjvCtor
type AddFormats = typeof addFormatsModule.default
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats

export const RESULT_V1_SCHEMA_PATH = fileURLToPath(new URL('./result.v1.schema.json', import.meta.url))

const validators = new Map<string, ValidateFunction>()

function compiled(schemaPath: string): ValidateFunction {
  let validate = validators.get(schemaPath)
  if (validate === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true })
    addFormats(ajv)
    validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object)
    validators.set(schemaPath, validate)
  }
  return validate
}

function getValidator(): ValidateFunction {
  return compiled(RESULT_SCHEMA_PATH)
}

/** Version-1 server fields, which v2 keeps as declared counters under the same names. */
const V1_COUNTERS = ['cacheHits', 'cacheMisses', 'batchFlushes', 'queueRejections', 'poolWaits'] as const

/**
 * A version-1 result in the version-2 shape: each trial's fixed server fields (the reference
 * target's counters) become `counters` under their v1 names, its every-series `counters` become
 * `series`, and CPU is marked as read from the metrics endpoint, which v1 always did.
 */
export function upgradeV1(v1: Record<string, unknown>): Record<string, unknown> {
  const trials = (v1.trials as Array<Record<string, unknown>>).map((t) => {
    const server = t.server as Record<string, unknown> | null
    if (server === null || server === undefined) return t
    return {
      ...t,
      server: {
        cpuUserUs: server.cpuUserUs,
        cpuSystemUs: server.cpuSystemUs,
        cpuUsPerRequest: server.cpuUsPerRequest,
        cpuSource: 'metrics',
        rssBytes: null,
        counters: Object.fromEntries(V1_COUNTERS.map((k) => [k, server[k] as number])),
        series: server.counters ?? {}
      }
    }
  })
  return { ...v1, schemaVersion: 2, trials, counters: Object.fromEntries(V1_COUNTERS.map((k) => [k, { metric: k, label: k }])) }
}

export const RESULT_V2_SCHEMA_PATH = fileURLToPath(new URL('./result.v2.schema.json', import.meta.url))

/**
 * A version-2 result in the version-3 shape: the fingerprint's `preset` becomes the `variant`, its
 * `store` and `cache` (the reference target's settings, as v2 recorded them for every target)
 * become declared options where they were known, and kind `phases` becomes `variants`.
 */
export function upgradeV2(v2: Record<string, unknown>): Record<string, unknown> {
  const { store, cache, preset, ...environment } = v2.environment as Record<string, unknown>
  const targetOptions = Object.fromEntries(Object.entries({ store, cache }).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
  // The command that compares a target's variants wrote kind 'phases' until it was named for them.
  const kind = v2.kind === 'phases' ? 'variants' : v2.kind
  return { ...v2, schemaVersion: RESULT_SCHEMA_VERSION, kind, environment: { ...environment, variant: typeof preset === 'string' ? preset : null, targetOptions } }
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`
    )
    .join('; ')
}

/** Schema check without throwing: the problems, or an empty list. */
export function validateResult(value: unknown): string[] {
  const validate = getValidator()
  if (validate(value)) return []
  return describe(validate.errors).split('; ')
}

/** Checks a parsed value and narrows it; `file` only names the source in errors. */
export function assertResult(value: unknown, file = '<result>'): RunResult {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResultFileError(file, 'INVALID', 'is not a JSON object')
  }
  if (version === 1) {
    const v1 = compiled(RESULT_V1_SCHEMA_PATH)
    if (!v1(value)) {
      throw new ResultFileError(
        file,
        'INVALID',
        `does not match the version-1 result schema: ${describe(v1.errors)} (regenerate it with the command that made it, e.g. \`npx authbench baseline\` for reports/baseline.json)`
      )
    }
    value = upgradeV1(value as Record<string, unknown>)
  } else if (version !== 2 && version !== RESULT_SCHEMA_VERSION) {
    throw new ResultFileError(
      file,
      'INCOMPATIBLE',
      `schemaVersion ${JSON.stringify(version)} is not one this authbench reads (1 to ${RESULT_SCHEMA_VERSION}); regenerate it with the command that made it, e.g. \`npx authbench baseline\` for reports/baseline.json`
    )
  }
  if ((value as { schemaVersion: unknown }).schemaVersion === 2) {
    const v2 = compiled(RESULT_V2_SCHEMA_PATH)
    if (!v2(value)) throw new ResultFileError(file, 'INVALID', `does not match the version-2 result schema: ${describe(v2.errors)}`)
    value = upgradeV2(value as Record<string, unknown>)
  }
  const validate = getValidator()
  if (!validate(value)) throw new ResultFileError(file, 'INVALID', `does not match the result schema: ${describe(validate.errors)}`)
  return value as unknown as RunResult
}

export async function readResult(file: string): Promise<RunResult> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new ResultFileError(file, missing ? 'MISSING' : 'UNREADABLE', missing ? 'no such file' : `cannot be read: ${(err as Error).message}`, { cause: err })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ResultFileError(file, 'CORRUPT', `is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return assertResult(value, file)
}

/**
 * Writes atomically (temp file + rename) so a killed run never leaves half a file behind. A result
 * that fails the schema is still written (measurements are not thrown away for a harness bug);
 * the problems are returned for the caller to report.
 */
export async function writeResult(file: string, result: RunResult): Promise<string[]> {
  const problems = validateResult(result)
  await writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`)
  return problems
}

/**
 * Write `text` to a temporary file beside `file`, then rename it over `file`: a reader (or a
 * process killed mid-write) finds the old file or the new one, never half of one. rename() is
 * atomic within one file system, which the temporary file in the same folder guarantees.
 */
export async function writeFileAtomic(file: string, text: string | Uint8Array): Promise<void> {
  await ensureDir(path.dirname(file))
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`
  try {
    await writeFile(tmp, text)
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/**
 * `mkdir -p` that always settles. Node's own `mkdir(dir, { recursive: true })` never returns for a
 * path under procfs (`/proc/x`): procfs answers ENOENT for the child even once the parent exists,
 * and Node's recursive walk reads ENOENT as "make the parent first", forever, spinning a libuv
 * thread at 100% CPU (nodejs/node, the same loop bun fixed in its own walker). mkdirp and make-dir
 * call that native mkdir, and mkdirp's manual fallback retries a child after ENOENT the same way. So
 * the walk is done here: find the deepest folder that exists, then make each child once; an ENOENT after its parent
 * was made or found is final.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = []
  let current = path.resolve(dir)
  for (;;) {
    try {
      const info = await stat(current)
      if (!info.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      const parent = path.dirname(current)
      if (parent === current) throw err
      missing.push(current)
      current = parent
    }
  }
  for (const child of missing.reverse()) {
    try {
      await mkdir(child)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}

/**
 * Before any load: `dir` (created if missing) takes a new file. A run that measured for minutes
 * and then could not save its result would have wasted them.
 */
export async function assertWritableDir(dir: string, option = '--out'): Promise<void> {
  const probe = path.join(dir, `.authbench-write-check-${process.pid}`)
  try {
    await ensureDir(dir)
    await writeFile(probe, '')
    await unlink(probe)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new BadOptionError(`${option} ${dir} is not writable (${code}): no load was started`)
  }
}

/** reports/<timestamp>-<label>: the timestamp sorts, the label is made safe for a folder name. */
export function resultDirName(createdAt: Date, label: string): string {
  const stamp = createdAt
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z')
  const safe = label
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
  return safe === '' ? stamp : `${stamp}-${safe}`
}
