// `authbench init` end to end, through the bin as a user runs it, in a package that `npm init -y`
// made ("type": "commonjs") and in an ES module package: the files it writes load, and `run` on
// them exits 0 against a tiny service. It refuses to replace files unless --force.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const temp = mkdtempSync(path.join(tmpdir(), 'authbench-init-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

const SERVER = `import { createServer } from 'node:http'
createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok')
  res.statusCode = 404
  res.end()
}).listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
`

function authbench(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** What `npm init -y` leaves (its package.json says "type": "commonjs"), with authbench installed and a server. */
function project(name: string, type: 'commonjs' | 'module'): string {
  const dir = path.join(temp, name)
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true })
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      { name, version: '1.0.0', main: 'index.js', scripts: { test: 'echo "Error: no test specified" && exit 1' }, keywords: [], author: '', license: 'ISC', type, description: '' },
      null,
      2
    )
  )
  writeFileSync(path.join(dir, 'server.mjs'), SERVER)
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'authbench'), 'dir')
  return dir
}

describe('authbench --version', () => {
  it('prints the package version, as --version and -V', () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const r = authbench([flag], temp)
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe(version)
    }
  })
})

describe('authbench init', () => {
  it('in a CommonJS package: writes a config and a scenario that run as written, and refuses to overwrite them without --force', () => {
    const dir = project('cjs-service', 'commonjs')
    const init = authbench(['init', '--start', 'node server.mjs', '--ready', '/health'], dir)
    expect(init.status, init.stderr).toBe(0)
    expect(existsSync(path.join(dir, 'authbench.config.mts'))).toBe(true)
    expect(existsSync(path.join(dir, 'scenarios/health.mts'))).toBe(true)
    expect(readFileSync(path.join(dir, 'authbench.config.mts'), 'utf8')).toContain('start: { command: "node", args: ["server.mjs"] }')

    const run = authbench(['run', '--duration', '1s', '--trials', '1', '--no-calibration', '--warmup', '200ms', '--warmup-max', '200ms'], dir)
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0)
    expect(run.stdout).toMatch(/health/)

    const again = authbench(['init', '--start', 'node server.mjs', '--ready', '/health'], dir)
    expect(again.status).toBe(2)
    expect(again.stderr).toMatch(/authbench.config.mts, scenarios\/health.mts already exist .*--force/)
    expect(again.stderr).not.toMatch(/\n\s+at /)
    const forced = authbench(['init', '--start', 'node server.mjs', '--ready', '/health', '--force'], dir)
    expect(forced.status, forced.stderr).toBe(0)
  }, 120_000)

  it('in an ES module package writes .ts; for a --url, a config without a target; bad options exit 2', () => {
    const dir = project('esm-service', 'module')
    const init = authbench(['init', '--url', 'http://127.0.0.1:8080/health'], dir)
    expect(init.status, init.stderr).toBe(0)
    expect(existsSync(path.join(dir, 'authbench.config.ts'))).toBe(true)
    expect(readFileSync(path.join(dir, 'authbench.config.ts'), 'utf8')).not.toContain('targets')
    expect(init.stdout).toContain('npx authbench run --url http://127.0.0.1:8080/health')
    const list = authbench(['run', '--help'], dir)
    expect(list.status, list.stderr).toBe(0)
    for (const bad of [[], ['--url', 'x', '--start', 'node s.js'], ['--url', 'ftp://h/'], ['--start', 'node s.js', '--ready', 'health']]) {
      const r = authbench(['init', ...bad], path.join(temp))
      expect(r.status, bad.join(' ')).toBe(2)
    }
  }, 60_000)
})
