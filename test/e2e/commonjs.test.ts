// End to end, through the `authbench` bin: a user's project whose package.json says
// "type": "commonjs" (what `npm init -y` writes), or names no type, runs its authbench.config.ts
// (ESM syntax: `import … from 'authbench'`, `export default`) and the scenario files it names,
// as written. So does an authbench.config.mts importing a TypeScript helper of its own.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'user-service')
const temp = mkdtempSync(path.join(tmpdir(), 'authbench-cjs-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

/** The user-service fixture in a folder of its own, `authbench` installed as a dependency. */
function project(name: string, packageJson: Record<string, unknown>, configName = 'authbench.config.ts'): string {
  const dir = path.join(temp, name)
  mkdirSync(dir)
  for (const file of ['server.mjs', 'items.scenario.ts']) cpSync(path.join(FIXTURE, file), path.join(dir, file))
  cpSync(path.join(FIXTURE, 'authbench.config.ts'), path.join(dir, configName))
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...packageJson }))
  mkdirSync(path.join(dir, 'node_modules'))
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'authbench'), 'dir')
  return dir
}

function run(dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'run', '--duration', '1s', '--trials', '1', '--no-calibration', '--out', path.join(dir, 'reports')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, CI: 'true' }
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('a config with ESM syntax in a CommonJS package', () => {
  it('runs where package.json says "type": "commonjs"', () => {
    const r = run(project('type-commonjs', { type: 'commonjs' }))
    expect(r.stderr).not.toMatch(/Cannot require|ERR_REQUIRE|AUTHBENCH_ERR_CONFIG_LOAD/)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/items\s+│/)
  }, 120_000)

  it('runs where package.json names no type', () => {
    const r = run(project('no-type', {}))
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/items\s+│/)
  }, 120_000)

  it('runs an authbench.config.mts that imports a TypeScript file of the project', () => {
    const dir = project('mts-with-helper', { type: 'commonjs' }, 'authbench.config.mts')
    writeFileSync(
      path.join(dir, 'load.ts'),
      "import type { LoadDefaults } from 'authbench'\nexport const LOAD: LoadDefaults = { durationMs: 1_000, warmupMs: 300, trials: 1, connections: 4 }\n"
    )
    const config = path.join(dir, 'authbench.config.mts')
    const text = readFileSync(config, 'utf8')
      .replace("from 'authbench'\n", "from 'authbench'\nimport { LOAD } from './load.ts'\n")
      .replace(/load: \{[^}]*\}/, 'load: LOAD')
    expect(text).toContain('load: LOAD')
    writeFileSync(config, text)
    const r = run(dir)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/items\s+│/)
  }, 120_000)
})
