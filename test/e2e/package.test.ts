// End to end, as a team adopting authbench would: `npm pack` this repository, install the tarball
// into a fresh project of its own (a copy of examples/quotes-service, its own git repository), and
// gate it with `npx authbench ab` between git refs. The second commit adds a known CPU cost to the
// hot path (64 SHA-256 digests per quote), so HEAD~1 → HEAD must fail the gate (exit 1, naming the
// metric) and HEAD → HEAD must pass (exit 0) from cached builds. Refs that do not build or do not
// start, and a Ctrl-C during a build, exit 2 / 130 within seconds and leave no worktree behind.
// Kept short for CI: one scenario, the 6 pairs the signed-rank test needs, 1 s per arm.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitFiles, extraWorktrees, git } from '../helpers/git-repo.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-pkg-'))
const project = path.join(work, 'project')
const cacheDir = path.join(work, 'build-cache')
const env = { ...process.env, CI: 'true', AUTHBENCH_CACHE_DIR: cacheDir, GITHUB_STEP_SUMMARY: '', npm_config_update_notifier: 'false' }
const GATE = ['--scenario', 'quote', '--trials', '6', '--duration', '1s', '--warmup', '300ms', '--connections', '8', '--no-calibration', '--out', 'reports']

interface Packed {
  filename: string
  size: number
  unpackedSize: number
  entryCount: number
  files: Array<{ path: string }>
}
let packed: Packed

interface Ran {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  wallMs: number
}

function run(
  command: string,
  args: string[],
  opts: { onStderr?: (text: string, pid: number) => void; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const startedMs = Date.now()
    const child = spawn(command, args, { cwd: opts.cwd ?? project, env: { ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      opts.onStderr?.(stderr, child.pid as number)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000)
    child.once('error', reject)
    child.once('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, wallMs: Date.now() - startedMs })
    })
  })
}

const costlyQuote = (source: string): string =>
  source
    .replace("import { randomUUID } from 'node:crypto'", "import { createHash, randomUUID } from 'node:crypto'")
    .replace(
      '  const bid = book.bids[0].price\n',
      "  // Sign every quote: 64 SHA-256 digests on the hot path.\n  let digest = symbol\n  for (let i = 0; i < 64; i++) digest = createHash('sha256').update(digest).digest('hex')\n  const bid = book.bids[0].price\n"
    )

beforeAll(async () => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] })
  packed = (JSON.parse(out) as Packed[])[0] as Packed

  cpSync(path.join(ROOT, 'examples/quotes-service'), project, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes(`${path.sep}reports`) })
  writeFileSync(path.join(project, '.gitignore'), 'node_modules/\nreports/\n')
  git(project, 'init', '-q', '-b', 'main')
  // As docs/own-repository.md says: the tarball as a dev dependency, from this machine's npm cache.
  execFileSync('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, packed.filename)], { cwd: project, env, stdio: 'ignore' })
  commitFiles(project, {}, 'quotes service with authbench')
  const server = readFileSync(path.join(project, 'src/server.mjs'), 'utf8')
  const costly = costlyQuote(server)
  expect(costly).toContain("createHash('sha256')")
  commitFiles(project, { 'src/server.mjs': costly }, 'sign every quote')
  // Side branches: one whose install fails, one whose service dies at start-up, one whose install hangs.
  const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  git(project, 'checkout', '-q', '-b', 'broken-install')
  commitFiles(
    project,
    {
      'package.json': JSON.stringify(
        { ...pkg, scripts: { ...pkg.scripts, preinstall: 'node -e "console.error(\'gyp ERR! build error: cannot compile addon\'); process.exit(1)"' } },
        null,
        2
      )
    },
    'a native addon that does not compile'
  )
  git(project, 'checkout', '-q', 'main')
  git(project, 'checkout', '-q', '-b', 'crash-on-start')
  commitFiles(project, { 'src/server.mjs': `throw new Error('QUOTES_FEED_URL is not set')\n${server}` }, 'needs a feed')
  git(project, 'checkout', '-q', 'main')
  git(project, 'checkout', '-q', '-b', 'slow-install')
  commitFiles(project, { 'package.json': JSON.stringify({ ...pkg, scripts: { ...pkg.scripts, preinstall: 'node -e "setTimeout(() => {}, 60000)"' } }, null, 2) }, 'slow install')
  git(project, 'checkout', '-q', 'main')
}, 240_000)

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

describe('authbench as an installed package (end to end)', () => {
  it('packs the bin, loadable sources, types and the JSON Schema, and nothing of the tests, reports, scripts or reference target', () => {
    const files = packed.files.map((f) => f.path)
    for (const needed of [
      'package.json',
      'README.md',
      'harness/bin/authbench.js',
      'harness/index.ts',
      'harness/cli/cli.ts',
      'harness/result.schema.json',
      'types/harness/index.d.ts'
    ])
      expect(files, needed).toContain(needed)
    for (const file of files) {
      expect(file).not.toMatch(/^(test|reports|scripts|target|examples|\.ci)\//)
      expect(file).not.toMatch(/\.test\.ts$/)
    }
    // The reference target's libraries are not the harness's: an installed harness does not get them.
    const installed = JSON.parse(readFileSync(path.join(project, 'node_modules/authbench/package.json'), 'utf8')) as {
      dependencies: Record<string, string>
      scripts?: unknown
      devDependencies?: unknown
    }
    // The repository's scripts start its reference target, lint and test: none of them can run
    // from the tarball, so the shipped manifest has none; the repository keeps its own.
    expect(installed.scripts).toBeUndefined()
    expect(installed.devDependencies).toBeUndefined()
    const repoManifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
    expect(repoManifest.scripts?.start).toBe('node --import tsx target/server.ts')
    expect(existsSync(path.join(ROOT, '.package.repo.json'))).toBe(false)
    expect(files).toContain('docs/architecture.md')
    for (const dep of ['fastify', 'pg', 'ioredis', '@electric-sql/pglite']) {
      expect(Object.keys(installed.dependencies)).not.toContain(dep)
      expect(existsSync(path.join(project, 'node_modules', dep))).toBe(false)
    }
    console.log(`tarball ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`)
  })

  it("the README's install step works in a fresh clone as written; without npm ci, npm pack says to run it", async () => {
    // A fresh clone: the repository's files and no node_modules.
    const clone = path.join(work, 'clone')
    for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0')) {
      if (file === '' || !existsSync(path.join(ROOT, file))) continue
      mkdirSync(path.dirname(path.join(clone, file)), { recursive: true })
      cpSync(path.join(ROOT, file), path.join(clone, file))
    }
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const block = /## Your own service[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
    const step = (block.split('\n')[0] ?? '').replace(/#.*$/, '').trim()
    expect(step).toMatch(/npm pack$/)

    const bare = await run('npm', ['pack', '--pack-destination', work], { cwd: clone })
    expect(bare.status, bare.stderr).not.toBe(0)
    expect(bare.stderr).not.toMatch(/tsc: not found/)
    expect(bare.stderr).toContain('Run `npm ci` in this repository first')
    expect(existsSync(path.join(clone, '.package.repo.json'))).toBe(false)

    const asWritten = await run('sh', ['-c', step], { cwd: clone, env: { npm_config_prefer_offline: 'true' } })
    expect(asWritten.status, asWritten.stderr.slice(-2000)).toBe(0)
    expect(existsSync(path.join(clone, packed.filename))).toBe(true)
    expect(readFileSync(path.join(clone, 'package.json'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  }, 300_000)

  it('a ref whose install fails, and one whose service dies at start-up: exit 2 within seconds, naming the ref and its output, no worktree left', async () => {
    const broken = await run('npx', ['authbench', 'ab', '--a', 'main', '--b', 'broken-install', ...GATE])
    expect(broken.status, broken.stderr).toBe(2)
    expect(broken.stderr).toMatch(/git ref "broken-install" \([0-9a-f]{12}\) does not build: install command "npm ci/)
    expect(broken.stderr).toContain('gyp ERR! build error: cannot compile addon')
    expect(broken.wallMs).toBeLessThan(30_000)

    const crash = await run('npx', ['authbench', 'ab', '--a', 'main', '--b', 'crash-on-start', ...GATE])
    expect(crash.status, crash.stderr).toBe(2)
    expect(crash.stderr).toMatch(/crash-on-start/)
    expect(crash.stderr).toContain('QUOTES_FEED_URL is not set')
    expect(crash.wallMs).toBeLessThan(30_000)
    expect(extraWorktrees(project)).toEqual([])
    expect(readdirSync(cacheDir).filter((d) => d.startsWith('.tmp-'))).toEqual([])
  }, 120_000)

  it('Ctrl-C during a build stops at once and removes the worktree', async () => {
    const bin = path.join(project, 'node_modules/.bin/authbench')
    let sent = false
    const r = await run(bin, ['ab', '--a', 'main', '--b', 'slow-install', ...GATE], {
      onStderr: (text, pid) => {
        if (!sent && /slow-install .*install: npm ci/.test(text)) {
          sent = true
          setTimeout(() => process.kill(pid, 'SIGINT'), 300)
        }
      },
      timeoutMs: 60_000
    })
    expect(sent, r.stderr).toBe(true)
    expect(r.status, r.stderr).toBe(130)
    expect(r.wallMs).toBeLessThan(30_000)
    expect(extraWorktrees(project)).toEqual([])
    expect(readdirSync(cacheDir).filter((d) => d.startsWith('.tmp-'))).toEqual([])
  }, 120_000)

  it('HEAD~1 → HEAD (a known CPU cost added) fails the gate naming the metric; HEAD → HEAD passes from the cached builds', async () => {
    // A cache of its own, so that the first run builds both refs as a first CI run would.
    const cache = { AUTHBENCH_CACHE_DIR: path.join(work, 'gate-cache') }
    const first = await run('npx', ['authbench', 'ab', '--a', 'HEAD~1', '--b', 'HEAD', ...GATE], { env: cache })
    expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(1)
    expect(first.stdout).toMatch(/REGRESSION: quote (throughput|CPU µs\/req|p50|p95|p99)/)
    expect(first.stderr.match(/: install: npm ci/g)).toHaveLength(2)
    const second = await run('npx', ['authbench', 'ab', '--a', 'HEAD', '--b', 'HEAD', ...GATE], { env: cache })
    expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(0)
    expect(second.stderr).toMatch(/build: HEAD \([0-9a-f]{12}\): cached build in .*, skipping install and build/)
    expect(second.stderr).not.toMatch(/install: npm ci/)
    expect(extraWorktrees(project)).toEqual([])
    const gateDir = readdirSync(path.join(project, 'reports')).find((d) => d.endsWith('-ab-HEAD-1-vs-HEAD')) as string
    const report = readFileSync(path.join(project, 'reports', gateDir, 'report.md'), 'utf8')
    expect(report.split('\n')[0]).toMatch(/REGRESSION/)
    const builds = [...first.stderr.matchAll(/: built in (\d+\.\d) s/g)].map((m) => `${m[1]} s`)
    console.log(`gate wall time: first run (both refs built: ${builds.join(', ')}) ${(first.wallMs / 1000).toFixed(1)} s, cached run ${(second.wallMs / 1000).toFixed(1)} s`)
  }, 300_000)
})
