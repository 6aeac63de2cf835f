// The harness core knows nothing of the reference target: eslint's no-restricted-imports fails
// any harness file that imports target/, the auth scenarios or the repository's config.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ESLint } from 'eslint'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const eslint = new ESLint({ cwd: REPO_ROOT })
const RULE = '@typescript-eslint/no-restricted-imports'

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message)
}

describe('harness layering (lint)', () => {
  it('fails a harness file that imports the target, the auth scenarios or the repository config', async () => {
    expect(await restricted('harness/engine-extra.ts', "import { PRESETS } from '../target/config.ts'\nexport const p = PRESETS\n")).toHaveLength(1)
    expect(await restricted('harness/cli/commands/extra.ts', "import type { Scenario } from '../../../scenarios/types.ts'\nexport type S = Scenario\n")).toHaveLength(1)
    expect(await restricted('harness/reporters/extra.ts', "import { authTarget } from '../../authbench.config.ts'\nexport const t = authTarget\n")).toHaveLength(1)
    expect((await restricted('harness/x.ts', "import { BASE_PATH } from '../scenarios/catalog.ts'\nexport const b = BASE_PATH\n"))[0]).toMatch(/harness core must not import/)
  })

  it('lets the harness import itself, and the auth side import the harness', async () => {
    expect(await restricted('harness/cli/commands/extra.ts', "import { defineScenario } from '../../api.ts'\nexport const d = defineScenario\n")).toEqual([])
    expect(
      await restricted(
        'scenarios/extra.ts',
        "import { PRESETS } from '../target/config.ts'\nimport { defineScenario } from '../harness/index.ts'\nexport const x = [PRESETS, defineScenario]\n"
      )
    ).toEqual([])
  })

  it('holds for the harness as it is', async () => {
    const results = await eslint.lintFiles(['harness/**/*.ts'])
    expect(results.flatMap((r) => r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}: ${m.message}`))).toEqual([])
  })
})

// The layer and cycle rules (dependency-cruiser, .dependency-cruiser.cjs) and the function-length
// rule (ESLint) fail on what they are there to stop: each is run on a planted file.
describe('the lint rules fail on a plant', () => {
  const plantDir = mkdtempSync(path.join(tmpdir(), 'authbench-plants-'))
  afterAll(() => rmSync(plantDir, { recursive: true, force: true }))
  const plant = (file: string, text: string): void => {
    mkdirSync(path.dirname(path.join(plantDir, file)), { recursive: true })
    writeFileSync(path.join(plantDir, file), text)
  }
  plant('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }))
  // An upward import: statistics reaching for a reporter.
  plant('harness/stats/planted.ts', "import { label } from '../reporters/planted-label.ts'\nexport const x = label\n")
  plant('harness/reporters/planted-label.ts', "export const label = 'x'\n")
  // A cycle in the engine.
  plant('harness/engine/planted-a.ts', "import { b } from './planted-b.ts'\nexport const a = (): number => b() + 1\n")
  plant('harness/engine/planted-b.ts', "import { a } from './planted-a.ts'\nexport const b = (): number => a() - 1\n")

  it('dependency-cruiser names the upward import and the cycle', () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'),
        'harness',
        '--config',
        path.join(REPO_ROOT, '.dependency-cruiser.cjs'),
        '--output-type',
        'err'
      ],
      { cwd: plantDir, encoding: 'utf8', timeout: 60_000 }
    )
    expect(r.status, r.stderr).not.toBe(0)
    expect(r.stdout).toMatch(/stats-imports-only-stats-and-base: harness\/stats\/planted\.ts → harness\/reporters\/planted-label\.ts/)
    expect(r.stdout).toMatch(/no-circular: harness\/engine\/planted-[ab]\.ts/)
  })

  it('ESLint refuses a function of 81 lines and takes one of 80', async () => {
    const fn = (lines: number): string => `export function planted(): number {\n  let n = 0\n${'  n++\n'.repeat(lines - 4)}  return n\n}\n`
    const messages = async (code: string): Promise<string[]> =>
      ((await eslint.lintText(code, { filePath: 'harness/planted.ts' }))[0]?.messages ?? []).filter((m) => m.ruleId === 'max-lines-per-function').map((m) => m.message)
    expect(await messages(fn(81))).toEqual(["Function 'planted' has too many lines (81). Maximum allowed is 80."])
    expect(await messages(fn(80))).toEqual([])
  })
})
