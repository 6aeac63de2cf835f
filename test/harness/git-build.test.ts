// buildRef on a repository of the test's own: install and build run in a temporary worktree, the
// build is cached by commit (the second call runs no command), and a failing, unknown or
// interrupted ref leaves neither a worktree nor a directory behind.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { RefBuildError, buildRef } from '../../harness/cli/git-build.ts'
import { commitFiles, createRepo, extraWorktrees, git } from '../helpers/git-repo.ts'

let repo = ''
let counter = ''
let first = ''
let second = ''
// Counts its runs in a file outside the checkout, and produces a build output inside it.
const INSTALL = 'echo install >> "$COUNTER"'
const BUILD = 'node build.mjs'

beforeAll(() => {
  repo = createRepo()
  counter = path.join(mkdtempSync(path.join(tmpdir(), 'authbench-counter-')), 'runs.txt')
  first = commitFiles(
    repo,
    { 'build.mjs': "import { mkdirSync, writeFileSync } from 'node:fs'\nmkdirSync('dist', { recursive: true })\nwriteFileSync('dist/version.txt', 'v1')\n" },
    'first'
  )
  second = commitFiles(
    repo,
    { 'build.mjs': "import { mkdirSync, writeFileSync } from 'node:fs'\nmkdirSync('dist', { recursive: true })\nwriteFileSync('dist/version.txt', 'v2')\n" },
    'second'
  )
})

const runs = (): number => (existsSync(counter) ? readFileSync(counter, 'utf8').trim().split('\n').length : 0)

describe('buildRef', () => {
  it('builds a ref in a temporary worktree, then serves the same commit from the cache without running anything', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    const lines: string[] = []
    const opts = { repo, install: INSTALL, build: BUILD, cacheDir, env: { COUNTER: counter }, log: (l: string) => lines.push(l) }
    const a = await buildRef({ ...opts, ref: 'HEAD~1' })
    expect(a).toMatchObject({ commit: first, cached: false })
    expect(readFileSync(path.join(a.dir, 'dist/version.txt'), 'utf8')).toBe('v1')
    // A plain directory now: no .git link, and git lists no extra worktree.
    expect(existsSync(path.join(a.dir, '.git'))).toBe(false)
    expect(extraWorktrees(repo)).toEqual([])
    expect(lines.join('\n')).toMatch(/temporary worktree/)

    const b = await buildRef({ ...opts, ref: 'main' })
    expect(b).toMatchObject({ commit: second, cached: false })
    expect(readFileSync(path.join(b.dir, 'dist/version.txt'), 'utf8')).toBe('v2')
    expect(runs()).toBe(2)

    lines.length = 0
    const again = await buildRef({ ...opts, ref: second })
    expect(again).toMatchObject({ commit: second, cached: true, dir: b.dir, buildMs: 0 })
    expect(lines).toEqual([expect.stringMatching(/cached build in .*, skipping install and build/)])
    expect(runs()).toBe(2)
    // Other commands are another build of the same commit.
    const other = await buildRef({ ...opts, ref: 'main', build: `${BUILD} && echo done` })
    expect(other.cached).toBe(false)
    expect(other.dir).not.toBe(b.dir)
    expect(extraWorktrees(repo)).toEqual([])
  })

  it("without an install command, shares the checkout's node_modules when the ref has the same package-lock.json", async () => {
    const lockRepo = createRepo()
    commitFiles(lockRepo, { 'app/package-lock.json': '{"lockfileVersion":3}\n', 'app/server.mjs': '' }, 'app')
    mkdirSync(path.join(lockRepo, 'app/node_modules/dep'), { recursive: true })
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    const lines: string[] = []
    const built = await buildRef({ repo: lockRepo, ref: 'main', workdir: 'app', linkNodeModulesFrom: path.join(lockRepo, 'app'), cacheDir, log: (l) => lines.push(l) })
    expect(built.dir.endsWith(`${path.sep}app`)).toBe(true)
    expect(realpathSync(path.join(built.dir, 'node_modules'))).toBe(realpathSync(path.join(lockRepo, 'app/node_modules')))
    expect(lines.join('\n')).toMatch(/same package-lock.json .*linking its node_modules/)
    await expect(buildRef({ repo: lockRepo, ref: 'main', workdir: 'missing', cacheDir })).rejects.toThrow(/has no folder missing/)
    expect(extraWorktrees(lockRepo)).toEqual([])
  })

  it('installs a dependency on a relative file: tarball outside the repository with an empty npm cache, and caches the commit as it is', async () => {
    // As `npm i -D ../authbench-0.1.0.tgz` leaves a project: the tarball beside the repository.
    const outer = mkdtempSync(path.join(tmpdir(), 'authbench-filedep-'))
    const dep = path.join(outer, 'dep')
    mkdirSync(dep)
    writeFileSync(path.join(dep, 'package.json'), '{"name":"some","version":"1.0.0","main":"index.js"}\n')
    writeFileSync(path.join(dep, 'index.js'), 'module.exports = 42\n')
    const npmEnv = { ...process.env, npm_config_cache: path.join(outer, 'warm-cache'), npm_config_update_notifier: 'false' }
    execFileSync('npm', ['pack', '--pack-destination', outer], { cwd: dep, env: npmEnv, stdio: 'ignore' })
    const app = path.join(outer, 'app')
    mkdirSync(app)
    git(app, 'init', '-q', '-b', 'main')
    writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n')
    execFileSync('npm', ['install', '--save-dev', '--offline', '--no-audit', '--no-fund', '../some-1.0.0.tgz'], { cwd: app, env: npmEnv, stdio: 'ignore' })
    const manifest = readFileSync(path.join(app, 'package.json'), 'utf8')
    expect(manifest).toContain('"file:../some-1.0.0.tgz"')
    commitFiles(app, { '.gitignore': 'node_modules/\n' }, 'app')

    // A new CI runner: an npm cache that has never seen the tarball, and no registry.
    const cold = { npm_config_cache: mkdtempSync(path.join(tmpdir(), 'authbench-npm-cache-')), npm_config_offline: 'true' }
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    const lines: string[] = []
    const built = await buildRef({ repo: app, ref: 'main', install: 'npm ci --no-audit --no-fund', cacheDir, env: cold, log: (l) => lines.push(l) })
    expect(readFileSync(path.join(built.dir, 'node_modules/some/index.js'), 'utf8')).toBe('module.exports = 42\n')
    expect(lines.join('\n')).toMatch(/package.json: relative file: dependencies outside the tree resolved against/)
    // The cached tree's manifests are the commit's, relative spec and all.
    expect(readFileSync(path.join(built.dir, 'package.json'), 'utf8')).toBe(manifest)
    expect(git(app, 'status', '--porcelain')).toBe('')
    expect(extraWorktrees(app)).toEqual([])

    // A tarball that is nowhere: named before npm runs.
    commitFiles(app, { 'package.json': manifest.replace('../some-1.0.0.tgz', '../gone-1.0.0.tgz') }, 'gone')
    await expect(buildRef({ repo: app, ref: 'main', install: 'npm ci', cacheDir, env: cold })).rejects.toThrow(
      /package.json depends on file:..\/gone-1.0.0.tgz, which is neither in the ref's tree nor at/
    )
    expect(extraWorktrees(app)).toEqual([])
  }, 60_000)

  it('keeps only the most recently used builds', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    for (const build of ['true', 'true && true', 'true || false']) await buildRef({ repo, ref: 'main', build, cacheDir, maxCached: 2 })
    expect(readdirSync(cacheDir)).toHaveLength(2)
  })

  it('a ref that does not build: exit-2 error naming the ref, the step and the tail of its output, within seconds, nothing left behind', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    const startedMs = Date.now()
    const error = await buildRef({
      repo,
      ref: 'HEAD~1',
      cacheDir,
      build: "node -e \"for (let i = 0; i < 200; i++) console.log('compiling module ' + i); console.error('src/app.ts(3,7): error TS2322: boom'); process.exit(3)\""
    }).catch((e: unknown) => e)
    expect(Date.now() - startedMs).toBeLessThan(10_000)
    expect(error).toBeInstanceOf(RefBuildError)
    const e = error as RefBuildError
    expect(e.usage).toBe(true)
    expect(e.code).toBe('AUTHBENCH_ERR_REF_BUILD')
    expect(e.message).toMatch(/^git ref "HEAD~1" \([0-9a-f]{12}\) does not build: build command "node -e .*" exited with code 3/)
    expect(e.message).toContain('error TS2322: boom')
    expect(e.message).toContain('compiling module 199')
    expect(e.message).not.toContain('compiling module 0\n')
    expect(readdirSync(cacheDir)).toEqual([])
    expect(extraWorktrees(repo)).toEqual([])
  })

  it('an unknown ref and a directory outside git are named', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    await expect(buildRef({ repo, ref: 'no-such-branch', cacheDir })).rejects.toThrow(/git ref "no-such-branch" does not name a commit/)
    await expect(buildRef({ repo: tmpdir(), ref: 'main', cacheDir })).rejects.toThrow(/is not inside a git repository/)
  })

  it('an abort during install stops the command at once and removes the worktree', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-cache-'))
    const controller = new AbortController()
    const lines: string[] = []
    const building = buildRef({ repo, ref: 'main', cacheDir, install: 'sleep 30', signal: controller.signal, log: (l) => lines.push(l) })
    while (!lines.some((l) => l.includes('install: sleep 30'))) await new Promise((r) => setTimeout(r, 20))
    expect(extraWorktrees(repo)).toHaveLength(1)
    const abortedAt = Date.now()
    controller.abort()
    const error = await building.catch((e: unknown) => e)
    expect(Date.now() - abortedAt).toBeLessThan(5_000)
    expect(error).toMatchObject({ interrupted: true, code: 'AUTHBENCH_ERR_REF_BUILD' })
    expect(readdirSync(cacheDir)).toEqual([])
    expect(extraWorktrees(repo)).toEqual([])
  })
})
