// Builds a git ref of any repository for an A/B arm: a temporary worktree of the ref's commit, the
// project's own install and build commands run in it, and the result kept in a build cache keyed by
// commit (and by the commands, Node version and platform), so a second gate run on the same refs
// starts at once. Once a build succeeds its directory stops being a git worktree (the `.git` link
// is removed and the worktree pruned) and becomes a plain cached directory, so no worktree outlives
// a run; a build that fails or is interrupted (abort signal, Ctrl-C, even process.exit) is removed
// together with its worktree. A failure names the ref, the step and the tail of its output.
import { spawn, spawnSync, execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { RefBuildError } from '../errors.ts'

export { RefBuildError }

const git = promisify(execFile)

/** A project command: a shell line (`npm ci && npm run build`) or an argv without a shell. */
export type ProjectCommand = string | readonly string[]

export interface RefBuildOptions {
  /** Any directory inside the repository. */
  repo: string
  /** A branch, tag, `origin/main`, `HEAD~1`, a commit… */
  ref: string
  /** Run first in the fresh checkout (e.g. `npm ci`); null or absent: nothing. */
  install?: ProjectCommand | null
  /** Run after install (e.g. `npm run build`); null or absent: nothing. */
  build?: ProjectCommand | null
  /**
   * With no install command: the checkout whose node_modules a ref may share. When the ref's
   * package-lock.json is the same as this checkout's, its node_modules is linked (no install, works
   * offline); when it differs, the ref gets `npm ci --prefer-offline`, since its code may need other
   * versions. Without this option and without an install command nothing is installed.
   */
  linkNodeModulesFrom?: string
  /** Folder inside the repository where install and build run (the target's folder). Default: the top. */
  workdir?: string
  /** Default: $AUTHBENCH_CACHE_DIR, else $XDG_CACHE_HOME/authbench/builds, else ~/.cache/authbench/builds. */
  cacheDir?: string
  /** Builds kept in the cache (least recently used go first). Default 4. */
  maxCached?: number
  /** Cached build directories never evicted by this call (the other arm's, in an A/B run). */
  inUse?: readonly string[]
  /** Per command. Default 10 minutes. */
  commandTimeoutMs?: number
  /** Environment of install and build, on top of this process's. */
  env?: Record<string, string>
  signal?: AbortSignal
  log?: (line: string) => void
  /** Bytes of each command's output kept for the error message. Default 4 KiB. */
  tailBytes?: number
}

export interface BuiltRef {
  ref: string
  commit: string
  /** Where the built tree's workdir is: the target starts here. */
  dir: string
  /** The cache entry (the whole tree). */
  entry: string
  /** True when the build came from the cache (no install, no build). */
  cached: boolean
  /** Milliseconds spent checking out, installing and building (0 when cached). */
  buildMs: number
}

/** Marker written into a finished build; a directory without it is not a usable cache entry. */
const MARKER = '.authbench-build.json'

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AUTHBENCH_CACHE_DIR !== undefined && env.AUTHBENCH_CACHE_DIR !== '') return path.resolve(env.AUTHBENCH_CACHE_DIR)
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache')
  return path.join(base, 'authbench', 'builds')
}

function describeCommand(command: ProjectCommand): string {
  return typeof command === 'string' ? command : command.join(' ')
}

/**
 * The cache key: the commit plus everything else that changes what a build produces here. The
 * repository itself is not in it: a commit id names the same tree in every clone.
 */
export function buildKey(commit: string, install: ProjectCommand | null, build: ProjectCommand | null, extra: Record<string, string> = {}): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ install, build, node: process.versions.node.split('.')[0], platform: process.platform, arch: process.arch, ...extra }))
    .digest('hex')
    .slice(0, 10)
  return `${commit.slice(0, 16)}-${hash}`
}

export async function resolveCommit(repo: string, ref: string): Promise<string | null> {
  // `--end-of-options` keeps a ref that starts with "-" from being read as an option.
  try {
    const { stdout } = await git('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd: repo, timeout: 10_000 })
    const commit = stdout.trim()
    return /^[0-9a-f]{40,64}$/.test(commit) ? commit : null
  } catch {
    return null
  }
}

async function gitLine(repo: string, args: string[]): Promise<string> {
  return git('git', args, { cwd: repo, timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => ''
  )
}

/**
 * What to fetch so that `ref` resolves: CI checkouts are often shallow and hold no other branch
 * (actions/checkout fetches one commit by default), so `origin/main` or `HEAD~1` is simply absent.
 */
export async function refFetchHint(repo: string, ref: string): Promise<string> {
  const shallow = (await gitLine(repo, ['rev-parse', '--is-shallow-repository'])) === 'true'
  const remotes = (await gitLine(repo, ['remote'])).split('\n').filter(Boolean)
  const remote = remotes.includes('origin') ? 'origin' : (remotes[0] ?? 'origin')
  const slash = ref.indexOf('/')
  const fromRemote = slash > 0 && remotes.includes(ref.slice(0, slash))
  const fetch = fromRemote
    ? `fetch it: git fetch ${ref.slice(0, slash)} ${ref.slice(slash + 1)}:refs/remotes/${ref}`
    : /[~^]/.test(ref)
      ? `fetch the history it needs: git fetch --unshallow ${remote}`
      : /^[0-9a-f]{7,64}$/.test(ref)
        ? `fetch it: git fetch ${remote} ${ref}`
        : `if it is a branch of ${remote}, fetch it (git fetch ${remote} ${ref}:refs/remotes/${remote}/${ref}) and give ${remote}/${ref}`
  const why = shallow ? 'this clone is shallow; ' : ''
  return `${why}${fetch} (in GitHub Actions: actions/checkout with fetch-depth: 0 fetches every branch and all history)`
}

// Temporary checkouts of this process, removed synchronously if the process exits mid-build (a
// second Ctrl-C exits at once, and 'exit' handlers may only do synchronous work).
const inProgress = new Map<string, string>()
let exitHookInstalled = false
function trackTemporary(dir: string, repo: string): void {
  inProgress.set(dir, repo)
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const [tmp, root] of inProgress) {
      rmSync(tmp, { recursive: true, force: true })
      spawnSync('git', ['worktree', 'prune'], { cwd: root, timeout: 5_000 })
    }
  })
}

/** Keeps the last `bytes` of a command's output. */
class Tail {
  #text = ''
  constructor(readonly bytes: number) {}
  push(chunk: Buffer): void {
    this.#text += chunk.toString('utf8')
    if (this.#text.length > this.bytes * 2) this.#text = this.#text.slice(-this.bytes)
  }

  toString(): string {
    return this.#text.slice(-this.bytes)
  }
}

interface CommandOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  aborted: boolean
  output: string
  error?: Error
}

function runProjectCommand(command: ProjectCommand, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number, tailBytes: number, signal?: AbortSignal): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const tail = new Tail(tailBytes)
    // Its own process group, so that a timeout or Ctrl-C stops `npm ci`'s children too.
    const child =
      typeof command === 'string'
        ? spawn(command, { cwd, env, shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(command[0] as string, command.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (c: Buffer) => tail.push(c))
    child.stderr?.on('data', (c: Buffer) => tail.push(c))
    let timedOut = false
    let aborted = false
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, timeoutMs)
    const onAbort = (): void => {
      aborted = true
      killGroup()
    }
    if (signal?.aborted === true) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = (outcome: Omit<CommandOutcome, 'timedOut' | 'aborted' | 'output'>): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve({ ...outcome, timedOut, aborted, output: tail.toString() })
    }
    child.once('error', (error) => done({ code: null, signal: null, error }))
    child.once('close', (code, sig) => done({ code, signal: sig }))
  })
}

async function removeCheckout(dir: string, repo: string): Promise<void> {
  await git('git', ['worktree', 'remove', '--force', dir], { cwd: repo, timeout: 30_000 }).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
  await git('git', ['worktree', 'prune'], { cwd: repo, timeout: 30_000 }).catch(() => undefined)
  inProgress.delete(dir)
}

async function readOrNull(file: string): Promise<string | null> {
  return readFile(file, 'utf8').catch(() => null)
}

async function readMarker(dir: string): Promise<{ commit: string } | null> {
  try {
    const json = JSON.parse(await readFile(path.join(dir, MARKER), 'utf8')) as { commit?: unknown }
    return typeof json.commit === 'string' ? { commit: json.commit } : null
  } catch {
    return null
  }
}

/** Drops the least recently used builds beyond `keep`, and temporary checkouts left by a killed run. */
async function evict(cacheDir: string, keep: number, inUse: ReadonlySet<string>): Promise<void> {
  const entries = await readdir(cacheDir, { withFileTypes: true }).catch(() => [])
  const builds: Array<{ dir: string; usedMs: number }> = []
  const dayAgo = Date.now() - 86_400_000
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const dir = path.join(cacheDir, entry.name)
    if (entry.name.startsWith('.tmp-')) {
      // Another run may be building right now; only an old leftover is removed.
      const info = await stat(dir).catch(() => null)
      if (info !== null && info.mtimeMs < dayAgo && !inProgress.has(dir)) await rm(dir, { recursive: true, force: true })
      continue
    }
    const marker = await stat(path.join(dir, MARKER)).catch(() => null)
    builds.push({ dir, usedMs: marker?.mtimeMs ?? 0 })
  }
  builds.sort((a, b) => b.usedMs - a.usedMs)
  for (const old of builds.slice(keep)) {
    if (!inUse.has(old.dir)) await rm(old.dir, { recursive: true, force: true })
  }
}

/** What one build is: the ref, its commit, where it is cached, and its commands. */
interface BuildJob {
  options: RefBuildOptions
  ref: string
  commit: string
  short: string
  top: string
  finalDir: string
  workdir: string
  install: ProjectCommand | null
  build: ProjectCommand | null
  /** The checkout whose node_modules a ref with the same package-lock.json links to. */
  linkFrom: string | null
  log: (line: string) => void
}

/** Resolves the ref to a commit and its cache entry. */
async function planBuild(options: RefBuildOptions): Promise<BuildJob> {
  const { ref } = options
  const install = options.install ?? null
  const build = options.build ?? null
  const top = await git('git', ['rev-parse', '--show-toplevel'], { cwd: options.repo, timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => null
  )
  if (top === null) throw new RefBuildError(ref, 'resolve', `git ref "${ref}": ${options.repo} is not inside a git repository`)
  const commit = await resolveCommit(top, ref)
  if (commit === null) throw new RefBuildError(ref, 'resolve', `git ref "${ref}" does not name a commit of ${top}: ${await refFetchHint(top, ref)}`)
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  await mkdir(cacheDir, { recursive: true })
  const workdir = options.workdir ?? ''
  const linkFrom = install === null && options.linkNodeModulesFrom !== undefined ? path.resolve(options.linkNodeModulesFrom) : null
  // A linked node_modules belongs to that checkout: builds linked to another checkout are others.
  const key = buildKey(commit, install, build, { workdir, ...(linkFrom === null ? {} : { linkFrom }) })
  return { options, ref, commit, short: commit.slice(0, 12), top, finalDir: path.join(cacheDir, key), workdir, install, build, linkFrom, log: options.log ?? (() => undefined) }
}

/** Links the checkout's node_modules when its lockfile matches, else says which install to run. */
async function installCommandFor(job: BuildJob, cwd: string): Promise<ProjectCommand | null> {
  if (job.linkFrom === null) return job.install
  const sameLock = (await readOrNull(path.join(cwd, 'package-lock.json'))) === (await readOrNull(path.join(job.linkFrom, 'package-lock.json')))
  if (sameLock && existsSync(path.join(job.linkFrom, 'node_modules'))) {
    job.log(`build: ${job.ref} (${job.short}): same package-lock.json as ${job.linkFrom}: linking its node_modules`)
    await symlink(path.join(job.linkFrom, 'node_modules'), path.join(cwd, 'node_modules'), 'dir')
    return job.install
  }
  return existsSync(path.join(cwd, 'package-lock.json')) ? 'npm ci --prefer-offline --no-audit --no-fund' : job.install
}

/** Runs install then build in the checkout; throws RefBuildError with the tail of a failing step's output. */
async function runBuildSteps(job: BuildJob, cwd: string): Promise<void> {
  const { options, ref, short } = job
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  const steps = [
    ['install', await installCommandFor(job, cwd)],
    ['build', job.build]
  ] as const
  const restore = steps.some(([, command]) => command !== null) ? await anchorFileSpecs(job, cwd) : async () => undefined
  for (const [step, command] of steps) {
    if (command === null) continue
    if (options.signal?.aborted === true) break
    job.log(`build: ${ref} (${short}): ${step}: ${describeCommand(command)}`)
    const stepStart = Date.now()
    const outcome = await runProjectCommand(command, cwd, env, options.commandTimeoutMs ?? 600_000, options.tailBytes ?? 4096, options.signal)
    const seconds = ((Date.now() - stepStart) / 1000).toFixed(1)
    if (outcome.aborted) break
    if (outcome.error !== undefined || outcome.code !== 0) {
      const how =
        outcome.error !== undefined
          ? `could not be started (${outcome.error.message})`
          : outcome.timedOut
            ? `timed out after ${seconds} s`
            : outcome.code === null
              ? `was killed by ${String(outcome.signal)} after ${seconds} s`
              : `exited with code ${outcome.code} after ${seconds} s`
      throw new RefBuildError(ref, step, `git ref "${ref}" (${short}) does not build: ${step} command "${describeCommand(command)}" ${how}`, outcome.output)
    }
  }
  if (options.signal?.aborted === true) throw new RefBuildError(ref, 'build', `git ref "${ref}" (${short}): build interrupted`, '', undefined, true)
  await restore()
}

/** The manifests whose `file:` specs npm reads on install, relative to the folder they are in. */
const MANIFESTS = ['package.json', 'package-lock.json', 'npm-shrinkwrap.json']

/**
 * `npm i -D ../authbench-0.1.0.tgz` records `file:../authbench-0.1.0.tgz`, relative to the
 * project. In the ref's tree under the build cache that path points nowhere, and `npm ci` finds
 * the file only if the npm cache happens to hold it. So before any command runs, each relative
 * `file:` spec whose file is not in the ref's own tree is made absolute against the checkout the
 * gate runs from, where it does exist; a spec that resolves inside the tree is the ref's own (a
 * workspace package at that commit) and is left alone. Returns what puts the manifests back as
 * the commit has them, once the install is done, so the cached tree is the commit's.
 */
async function anchorFileSpecs(job: BuildJob, cwd: string): Promise<() => Promise<void>> {
  const checkout = path.join(job.top, job.workdir)
  const originals = new Map<string, string>()
  for (const name of MANIFESTS) {
    const file = path.join(cwd, name)
    const text = await readOrNull(file)
    if (text === null) continue
    const rewritten = text.replace(/"file:([^"]+)"/g, (whole, spec: string) => {
      if (path.isAbsolute(spec) || existsSync(path.resolve(cwd, spec))) return whole
      const outside = path.resolve(checkout, spec)
      if (!existsSync(outside))
        throw new RefBuildError(
          job.ref,
          'install',
          `git ref "${job.ref}" (${job.short}): ${name} depends on file:${spec}, which is neither in the ref's tree nor at ${outside} beside the checkout`
        )
      return JSON.stringify(`file:${outside}`)
    })
    if (rewritten === text) continue
    job.log(`build: ${job.ref} (${job.short}): ${name}: relative file: dependencies outside the tree resolved against ${checkout}`)
    originals.set(file, text)
    await writeFile(file, rewritten)
  }
  return async () => {
    for (const [file, text] of originals) await writeFile(file, text)
  }
}

/** Checks the commit out into `tmp`, builds it, and moves it into the cache as a plain directory. */
async function buildInto(job: BuildJob, tmp: string): Promise<void> {
  const { ref, short, commit, top, finalDir } = job
  job.log(`build: ${ref} (${short}): checking out into a temporary worktree ${tmp}`)
  try {
    await git('git', ['worktree', 'add', '--detach', '--force', tmp, commit], { cwd: top, timeout: 120_000 })
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new RefBuildError(ref, 'checkout', `git ref "${ref}" (${short}): git worktree add failed`, e.stderr ?? e.message, error)
  }
  const cwd = path.join(tmp, job.workdir)
  if (!existsSync(cwd)) throw new RefBuildError(ref, 'checkout', `git ref "${ref}" (${short}) has no folder ${job.workdir}, where the target starts`)
  await runBuildSteps(job, cwd)
  await writeFile(
    path.join(tmp, MARKER),
    `${JSON.stringify({ commit, ref, install: job.install, build: job.build, builtAt: new Date().toISOString(), node: process.version }, null, 2)}\n`
  )
  // From here on it is a plain directory, not a worktree: nothing to clean up after the run.
  await rm(path.join(tmp, '.git'), { force: true })
  await git('git', ['worktree', 'prune'], { cwd: top, timeout: 30_000 }).catch(() => undefined)
  try {
    await rename(tmp, finalDir)
  } catch (error) {
    // Another run finished the same build first: use its copy.
    if (!existsSync(path.join(finalDir, MARKER))) throw error
    await rm(tmp, { recursive: true, force: true })
  }
  inProgress.delete(tmp)
}

/**
 * Returns a built tree of `ref`: from the cache when this commit was built with these commands
 * before, else checked out and built now. Throws RefBuildError (exit 2) naming the ref, the step
 * and the tail of the output; on any failure or abort nothing is left behind.
 */
export async function buildRef(options: RefBuildOptions): Promise<BuiltRef> {
  const job = await planBuild(options)
  const { ref, commit, short, finalDir, workdir } = job
  const cached = await readMarker(finalDir)
  if (cached?.commit === commit) {
    const now = new Date()
    await utimes(path.join(finalDir, MARKER), now, now).catch(() => undefined)
    job.log(`build: ${ref} (${short}): cached build in ${finalDir}, skipping install and build`)
    return { ref, commit, dir: path.join(finalDir, workdir), entry: finalDir, cached: true, buildMs: 0 }
  }
  const startedMs = Date.now()
  const cacheDir = path.dirname(finalDir)
  const tmp = await mkdtemp(path.join(cacheDir, `.tmp-${path.basename(finalDir)}-`))
  trackTemporary(tmp, job.top)
  try {
    await buildInto(job, tmp)
  } catch (error) {
    await removeCheckout(tmp, job.top)
    throw error
  }
  const buildMs = Date.now() - startedMs
  job.log(`build: ${ref} (${short}): built in ${(buildMs / 1000).toFixed(1)} s, cached as ${finalDir}`)
  await evict(cacheDir, options.maxCached ?? 4, new Set([finalDir, ...(options.inUse ?? [])]))
  return { ref, commit, dir: path.join(finalDir, workdir), entry: finalDir, cached: false, buildMs }
}
