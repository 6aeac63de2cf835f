// End to end: an HTTPS target with a self-signed certificate (test/fixtures/tls), started by the
// harness and already running (--url), in the closed and the open model. With --insecure the run
// measures it; without, the harness refuses a certificate nobody checked, with exit 2.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import type { RunResult } from '../../harness/types.ts'

const BIN = path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js')
const TLS_TARGET = path.join(REPO_ROOT, 'test', 'fixtures', 'tls-target.mjs')
const project = mkdtempSync(path.join(tmpdir(), 'authbench-https-'))
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tls-service', type: 'module', private: true }))
mkdirSync(path.join(project, 'node_modules'))
symlinkSync(REPO_ROOT, path.join(project, 'node_modules', 'authbench'), 'dir')
writeFileSync(
  path.join(project, 'authbench.config.ts'),
  `import { defineConfig, defineTarget, defineScenario } from 'authbench'
export default defineConfig({
  targets: [defineTarget({ name: 'tls', start: { command: 'node', args: [${JSON.stringify(TLS_TARGET)}], protocol: 'https' }, readiness: { path: '/health', timeoutMs: 10000 } })],
  scenarios: [defineScenario({ name: 'item', request: { method: 'GET', path: '/items/1', expectedStatuses: [200] } })],
  load: { durationMs: 600, warmupMs: 100, trials: 1, connections: 4 }
})
`
)

let server: Server
let url = ''
beforeAll(async () => {
  const tls = path.join(REPO_ROOT, 'test', 'fixtures', 'tls')
  server = createServer({ cert: readFileSync(path.join(tls, 'cert.pem')), key: readFileSync(path.join(tls, 'key.pem')) }, (req, res) => void res.end('{"ok":true}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  rmSync(project, { recursive: true, force: true })
})

/** The bin, as a user runs it; asynchronous, so the --url server in this process keeps answering. */
function authbench(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: project, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('error', reject)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stderr })
    })
  })
}

function newest(dir: string): RunResult {
  const name = readdirSync(dir)
    .filter((d) => existsSync(path.join(dir, d, 'result.json')))
    .sort()
    .at(-1) as string
  return JSON.parse(readFileSync(path.join(dir, name, 'result.json'), 'utf8')) as RunResult
}

const FAST = ['--warmup-max', '100ms', '--no-calibration']

describe('an HTTPS target with a self-signed certificate', () => {
  for (const [model, extra] of [
    ['closed', []],
    ['open', ['--rate', '300']]
  ] as const) {
    it(`started by the harness, ${model} model, with --insecure`, async () => {
      const out = path.join(project, `started-${model}`)
      const r = await authbench(['run', ...FAST, ...extra, '--insecure', '--out', out])
      expect(r.status, r.stderr).toBe(0)
      const trial = newest(out).trials[0]
      expect(trial?.validity, r.stderr).toEqual({ state: 'valid' })
      expect(trial?.errors).toBe(0)
      expect(trial?.requests).toBeGreaterThan(50)
    })

    it(`already running (--url), ${model} model, with --insecure`, async () => {
      const out = path.join(project, `url-${model}`)
      const r = await authbench(['run', ...FAST, ...extra, '--url', url, '--scenario', 'item', '--insecure', '--out', out])
      expect(r.status, r.stderr).toBe(0)
      const trial = newest(out).trials[0]
      expect(trial?.validity, r.stderr).toEqual({ state: 'valid' })
      expect(trial?.requests).toBeGreaterThan(50)
    })
  }

  it('without --insecure the certificate is refused: exit 2, naming it', async () => {
    const r = await authbench(['run', ...FAST, '--out', path.join(project, 'refused')])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/self[- ]signed certificate/i)
    // autocannon never checks a certificate: against --url the harness checks it before any load.
    const u = await authbench(['run', ...FAST, '--url', url, '--scenario', 'item', '--out', path.join(project, 'refused-url')])
    expect(u.status).toBe(2)
    expect(u.stderr).toMatch(/the certificate is not trusted \(self[- ]signed certificate\); pass --insecure/)
  })
})
