// What an A/B arm runs: a variant of the configured target, a JSON file of target environment
// overrides, or a git ref whose tree is checked out into a temporary worktree (the target then
// starts from the same place in that tree). A spec is resolved (and checked) before
// any trial runs, so a typo fails at once with exit 2 and a message naming it, not 10 minutes in.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import type { TargetDefinition } from '../api.ts'
import { CompareError, RefBuildError } from '../errors.ts'
import { buildRef, refFetchHint } from './git-build.ts'

const run = promisify(execFile)

export type ArmSpecKind = 'variant' | 'config' | 'git'

export interface ArmSpec {
  /** As given on the command line. */
  spec: string
  kind: ArmSpecKind
  /** Environment for the target (on top of its own): the variant's, the file's overrides, --x-env. */
  env: Record<string, string>
  /** Git ref only: the commit it resolved to. */
  commit: string | null
}

/** A spec made runnable: the folder its target starts in. `release()` removes any worktree. */
export interface PreparedArm extends ArmSpec {
  cwd: string
  release(): Promise<void>
}

const ENV_KEY = /^[A-Z][A-Z0-9_]*$/

function specError(option: string, spec: string, why: string): CompareError {
  return new CompareError('AUTHBENCH_ERR_AB_SPEC', `${option} "${spec}": ${why}`)
}

/** Reads a JSON object of env overrides: {"INJECT_CPU_US": 20, "PRESET": "phase1"}. */
function readEnvFile(option: string, spec: string): Record<string, string> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(spec, 'utf8'))
  } catch (error) {
    throw specError(option, spec, `is not a readable JSON file of target environment overrides (${(error as Error).message})`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw specError(option, spec, 'must hold a JSON object of KEY: value environment overrides')
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(json)) {
    if (!ENV_KEY.test(key)) throw specError(option, spec, `key "${key}" is not an environment variable name (A-Z, 0-9, _)`)
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw specError(option, spec, `value of ${key} must be a string, number or boolean`)
    env[key] = String(value)
  }
  return env
}

async function resolveCommit(ref: string, cwd: string): Promise<string | null> {
  // `--end-of-options` keeps a ref that starts with "-" from being read as an option.
  try {
    const { stdout } = await run('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd, timeout: 10_000 })
    const commit = stdout.trim()
    return /^[0-9a-f]{40,64}$/.test(commit) ? commit : null
  } catch {
    return null
  }
}

/**
 * Classifies and checks a spec. Variant names win, then existing files, then git refs of the
 * repository the target lives in. Bad values in a variant or file are the target's to refuse: it
 * is started before any trial, so they fail at once with exit 2 and its stderr.
 */
export async function resolveArmSpec(
  option: string,
  spec: string,
  extraEnv: Readonly<Record<string, string>>,
  target: Pick<TargetDefinition, 'name' | 'variants' | 'start' | 'checkEnv'>
): Promise<ArmSpec> {
  const arm = await classifyArmSpec(option, spec, extraEnv, target)
  // A git ref's env can only be checked by its own (other) code, when it starts.
  if (arm.kind !== 'git' && target.checkEnv !== undefined) {
    try {
      target.checkEnv({ ...target.start.env, ...arm.env })
    } catch (error) {
      throw specError(option, spec, `the target would refuse this config: ${(error as Error).message}`)
    }
  }
  return arm
}

async function classifyArmSpec(
  option: string,
  spec: string,
  extraEnv: Readonly<Record<string, string>>,
  target: Pick<TargetDefinition, 'name' | 'variants' | 'start'>
): Promise<ArmSpec> {
  const trimmed = spec.trim()
  const variants = Object.keys(target.variants ?? {})
  const forms = `a variant of target "${target.name}"${variants.length > 0 ? ` (${variants.join(', ')})` : ''}, a JSON file of env overrides, or a git ref`
  if (trimmed === '') throw specError(option, spec, `is empty; give ${forms}`)
  const cwd = target.start.cwd ?? process.cwd()
  if (target.variants?.[trimmed] !== undefined) return { spec: trimmed, kind: 'variant', env: { ...target.variants[trimmed], ...extraEnv }, commit: null }
  if (existsSync(trimmed) && statSync(trimmed).isFile()) return { spec: trimmed, kind: 'config', env: { ...readEnvFile(option, trimmed), ...extraEnv }, commit: null }
  if (trimmed.endsWith('.json')) throw specError(option, spec, 'no such file')
  const commit = await resolveCommit(trimmed, cwd)
  if (commit === null) {
    // In a repository, what is neither a variant nor a file was meant as a ref: a ref that does
    // not resolve is AUTHBENCH_ERR_REF_BUILD's, with what to fetch (a shallow CI clone lacks it).
    const top = trimmed.startsWith('-') ? null : await gitRoot(cwd)
    if (top === null) throw specError(option, spec, `is not ${forms} of ${cwd}`)
    throw new RefBuildError(trimmed, 'resolve', `${option} "${spec}": is not ${forms} of ${top}: ${await refFetchHint(top, trimmed)}`)
  }
  return { spec: trimmed, kind: 'git', env: { ...extraEnv }, commit }
}

/** How git-ref arms are built: the target's install/build commands, and what to do while building. */
export interface ArmBuild {
  /** The target's folder in this checkout; each ref's target starts from the same folder of its tree. */
  targetCwd: string
  install?: TargetDefinition['install']
  build?: TargetDefinition['build']
  /** Aborts a build in progress (Ctrl-C): its worktree is removed. */
  signal?: AbortSignal
  /** Default: harness/cli/git-build.ts's (AUTHBENCH_CACHE_DIR, XDG cache, ~/.cache). */
  cacheDir?: string
}

/**
 * Makes resolved specs runnable. A git ref is built by harness/cli/git-build.ts: checked out into a
 * temporary worktree, installed and built with the target's commands, cached by commit; what the
 * arm gets is a plain cached directory, so there is no worktree to remove after the run.
 */
export async function prepareArms(arms: readonly ArmSpec[], how: ArmBuild, log: (line: string) => void = () => undefined): Promise<PreparedArm[]> {
  const repoRoot = await gitRoot(how.targetCwd)
  const within = repoRoot === null ? '' : path.relative(repoRoot, how.targetCwd)
  const built = new Map<string, { dir: string; entry: string }>()
  const prepared: PreparedArm[] = []
  for (const arm of arms) {
    if (arm.kind !== 'git') {
      prepared.push({ ...arm, cwd: how.targetCwd, release: async () => undefined })
      continue
    }
    const commit = arm.commit as string
    if (repoRoot === null) throw specError('ab', arm.spec, `${how.targetCwd} is not in a git repository`)
    let tree = built.get(commit)
    if (tree === undefined) {
      tree = await buildRef({
        repo: repoRoot,
        ref: arm.spec,
        workdir: within,
        install: how.install ?? null,
        build: how.build ?? null,
        ...(how.install === undefined ? { linkNodeModulesFrom: how.targetCwd } : {}),
        ...(how.signal === undefined ? {} : { signal: how.signal }),
        ...(how.cacheDir === undefined ? {} : { cacheDir: how.cacheDir }),
        // The other arm's build must survive this one's cache eviction.
        inUse: [...built.values()].map((t) => t.entry),
        log
      })
      built.set(commit, tree)
    }
    prepared.push({ ...arm, cwd: tree.dir, release: async () => undefined })
  }
  return prepared
}

/** Releases each worktree once, however many arms share it. */
export async function releaseAll(arms: readonly PreparedArm[]): Promise<void> {
  const done = new Set<PreparedArm['release']>()
  for (const arm of arms) {
    if (done.has(arm.release)) continue
    done.add(arm.release)
    await arm.release().catch(() => undefined)
  }
}

async function gitRoot(cwd: string): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--show-toplevel'], { cwd, timeout: 10_000 })
    return stdout.trim() || null
  } catch {
    return null
  }
}

/** True when the checkout has uncommitted changes to tracked files (which no git ref contains). */
export async function worktreeDirty(cwd: string): Promise<boolean> {
  try {
    const { stdout } = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, timeout: 10_000 })
    return stdout.trim() !== ''
  } catch {
    return false
  }
}
