// The one error registry: no error class outside harness/errors.ts, no code outside the table,
// every code documented in docs/error-codes.md, and exit codes taken from the table in one place.
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import * as errors from '../../harness/errors.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

/** The harness and the auth scenarios (the target has its own registry, target/errors.ts). */
function sources(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(rel)
      else if (entry.name.endsWith('.ts')) out.push({ file: rel, text: readFileSync(path.join(REPO_ROOT, rel), 'utf8') })
    }
  }
  walk('harness')
  walk('scenarios')
  out.push({ file: 'authbench.config.ts', text: readFileSync(path.join(REPO_ROOT, 'authbench.config.ts'), 'utf8') })
  return out
}

const REGISTRY = path.join('harness', 'errors.ts')

describe('the error registry', () => {
  it('is the only place an error class is defined', () => {
    const outside = sources()
      .filter((s) => s.file !== REGISTRY)
      .flatMap((s) => [...s.text.matchAll(/class\s+(\w+)\s+extends\s+(\w*Error)\b/g)].map((m) => `${s.file}: ${m[1]} extends ${m[2]}`))
    expect(outside).toEqual([])
  })

  it('knows every AUTHBENCH_ERR_ code the sources use, and every code it has is used', () => {
    const known = new Set(Object.keys(errors.ERROR_CODES))
    const used = new Set<string>()
    for (const s of sources()) {
      // The table itself does not count as a use.
      const text = s.file === REGISTRY ? s.text.replace(/export const ERROR_CODES = Object\.freeze\(\{[\s\S]*?\}\s*satisfies/, '') : s.text
      for (const m of text.matchAll(/AUTHBENCH_ERR_[A-Z0-9_]+/g)) used.add(m[0])
    }
    expect([...used].filter((c) => !known.has(c))).toEqual([])
    expect([...known].filter((c) => !used.has(c))).toEqual([])
  })

  it('documents every code in docs/error-codes.md', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'error-codes.md'), 'utf8')
    expect(Object.keys(errors.ERROR_CODES).filter((c) => !doc.includes(`\`${c}\``))).toEqual([])
  })

  it('maps any error to a message and an exit code from the table', () => {
    expect(errors.describeError(new errors.BadOptionError('--x is bad'))).toEqual({ message: '--x is bad [AUTHBENCH_ERR_BAD_OPTION]', exitCode: 2 })
    // An incomplete run is 2, never 1: 1 is only ever a regression.
    expect(errors.describeError(new errors.TargetCrashedError(1, null, 'boom')).exitCode).toBe(2)
    expect(errors.describeError(new errors.RefBuildError('main', 'install', 'npm ci failed')).exitCode).toBe(2)
    expect(errors.describeError(new errors.ResultFileError('r.json', 'MISSING', 'no such file')).message).toBe('r.json: no such file [AUTHBENCH_ERR_RESULT_FILE:MISSING]')
    // Not registered: nothing anticipated it. One line and a hint, exiting as the caller says;
    // with --debug (setShowStacks), the stack.
    const bug = errors.describeError(new TypeError('x is undefined\nmore'), 2)
    expect(bug.exitCode).toBe(2)
    expect(bug.message).toBe('unexpected error: TypeError: x is undefined (rerun with --debug for the stack)')
    errors.setShowStacks(true)
    try {
      expect(errors.describeError(new TypeError('x is undefined')).message).toMatch(/TypeError: x is undefined\n\s+at /)
    } finally {
      errors.setShowStacks(false)
    }
    for (const [code, info] of Object.entries(errors.ERROR_CODES)) expect(errors.exitCodeForCode(code)).toBe(info.exitCode)
    expect(errors.exitCodeForCode('SOMETHING_ELSE')).toBe(2)
  })

  it('marks what the user can fix as usage (exit 2), including a target that cannot start', () => {
    expect(new errors.UnknownScenarioError('nope', ['health']).usage).toBe(true)
    expect(new errors.TargetStartError('exited at once', '').usage).toBe(true)
    expect(new errors.SetupFailedError('seeding refused').usage).toBe(true)
    expect(new errors.TargetCrashedError(1, null, 'boom').message).toContain('boom')
  })
})
