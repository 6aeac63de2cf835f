// The harness core knows nothing of the reference target: eslint's no-restricted-imports fails
// any harness file that imports target/, the auth scenarios or the repository's config.
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
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
    expect(await restricted('scenarios/extra.ts', "import { PRESETS } from '../target/config.ts'\nimport { defineScenario } from '../harness/index.ts'\nexport const x = [PRESETS, defineScenario]\n")).toEqual([])
  })

  it('holds for the harness as it is', async () => {
    const results = await eslint.lintFiles(['harness/**/*.ts'])
    expect(results.flatMap((r) => r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}: ${m.message}`))).toEqual([])
  })
})
