// The config loader: found in cwd or given, in .ts, .mjs or .json; validated once, a bad key or
// value named with the file; scenario files loaded; without a file, the built-in `get` scenario.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { findConfigFile, loadConfig, scenarioByName, targetByName, variantEnv } from '../../harness/config.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const dir = (): string => mkdtempSync(path.join(tmpdir(), 'authbench-config-'))
const TARGET = { name: 'svc', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health' }, variants: { fast: {}, slow: { WORK_US: '400' } } }

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message }
  }
  throw new Error('expected a rejection')
}

describe('loadConfig', () => {
  it('reads the repository config: the auth target, its four presets as variants, six scenarios', async () => {
    const config = await loadConfig({ cwd: REPO_ROOT })
    expect(config.file).toBe(path.join(REPO_ROOT, 'authbench.config.ts'))
    expect(config.scenarios.map((s) => s.name)).toEqual(['health', 'token', 'ott', 'validate', 'revoke', 'mixed', 'client-session', 'ott-flow'])
    const auth = targetByName(config)
    expect(Object.keys(auth.variants ?? {})).toEqual(['baseline', 'phase1', 'phase2', 'phase3'])
    expect(variantEnv(auth, 'phase1')).toEqual({ PRESET: 'phase1' })
    expect(auth.start.cwd).toBe(REPO_ROOT)
  })

  it('loads .json and .mjs configs with scenario files relative to them, paths made absolute', async () => {
    const d = dir()
    writeFileSync(
      path.join(d, 'get.mjs'),
      "export default { name: 'one', description: 'x', consumes: false, defaultLoad: {}, params: {}, checkParams() {}, async setup() { return {} } }\n"
    )
    writeFileSync(path.join(d, 'authbench.config.json'), JSON.stringify({ targets: [TARGET], scenarios: ['./get.mjs'], margins: { p99Us: 0.2 } }))
    const json = await loadConfig({ cwd: d })
    expect(json.scenarios.map((s) => s.name)).toEqual(['one'])
    expect(json.targets[0]?.start.cwd).toBe(d)
    // The older form: gate keys at the top level of a JSON file.
    expect(json.gate.margins).toEqual({ p99Us: 0.2 })
    writeFileSync(path.join(d, 'other.mjs'), `export default ${JSON.stringify({ targets: [TARGET], gate: { minTrials: 4 } })}\n`)
    const mjs = await loadConfig({ cwd: d, configPath: 'other.mjs' })
    expect(mjs.gate.minTrials).toBe(4)
    expect(mjs.scenarios.map((s) => s.name)).toEqual(['get'])
  })

  it('names the file and the key for an unknown key, a bad value, a missing file or scenario', async () => {
    const d = dir()
    writeFileSync(path.join(d, 'authbench.config.json'), JSON.stringify({ targets: [{ ...TARGET, readines: {} }] }))
    expect(await codeOf(loadConfig({ cwd: d }))).toEqual({
      code: 'AUTHBENCH_ERR_CONFIG_INVALID',
      message: `${path.join(d, 'authbench.config.json')}: unknown key "readines" in targets[0]`
    })
    writeFileSync(path.join(d, 'authbench.config.json'), JSON.stringify({ targets: [{ ...TARGET, readiness: { path: 'health' } }] }))
    expect((await codeOf(loadConfig({ cwd: d }))).message).toMatch(/targets\[0\]\.readiness\.path: must start with \//)
    writeFileSync(path.join(d, 'authbench.config.json'), JSON.stringify({ targets: [{ ...TARGET, defaultVariant: 'turbo' }] }))
    expect((await codeOf(loadConfig({ cwd: d }))).message).toMatch(/defaultVariant: "turbo" is not one of the target's variants \(fast, slow\)/)
    writeFileSync(path.join(d, 'authbench.config.json'), JSON.stringify({ scenarios: ['./nope.ts'] }))
    expect(await codeOf(loadConfig({ cwd: d }))).toMatchObject({
      code: 'AUTHBENCH_ERR_CONFIG_LOAD',
      message: expect.stringMatching(/scenarios\[0\]: scenario file \.\/nope\.ts does not exist/)
    })
    expect(await codeOf(loadConfig({ cwd: d, configPath: 'missing.config.ts' }))).toEqual({
      code: 'AUTHBENCH_ERR_CONFIG_LOAD',
      message: 'config file missing.config.ts does not exist'
    })
  })

  it('without a config file: no target, and the built-in get scenario', async () => {
    const d = dir()
    expect(findConfigFile(d)).toBeNull()
    const config = await loadConfig({ cwd: d })
    expect(config.scenarios.map((s) => s.name)).toEqual(['get'])
    expect(await codeOf(Promise.resolve().then(() => targetByName(config)))).toMatchObject({ code: 'AUTHBENCH_ERR_NO_TARGET', message: expect.stringMatching(/--url/) })
    expect(() => scenarioByName(config, 'token')).toThrow(/unknown scenario "token" \(known: get\)/)
    const instance = await scenarioByName(config, 'get').setup({ url: 'http://127.0.0.1:1', expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: { path: '/health' } })
    expect(instance.nextRequest()).toMatchObject({ method: 'GET', path: '/health' })
  })

  it('refuses an unknown variant, naming the ones there are', () => {
    expect(() => variantEnv(TARGET, 'turbo')).toThrow(/--variant "turbo": target "svc" has the variants fast, slow/)
  })
})
