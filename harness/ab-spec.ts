// What an A/B arm runs: a variant of the configured target, a JSON file of target environment
// overrides, or a git ref whose tree is checked out into a temporary worktree (the target then
// starts from the same place in that tree). A spec is resolved (and checked) before
// any trial runs, so a typo fails at once with exit 2 and a message naming it, not 10 minutes in.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { TargetDefinition } from './api.ts'
import { CompareError } from './errors.ts'

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
export async function resolveArmSpec(option: string, spec: string, extraEnv: Readonly<Record<string, string>>, target: Pick<TargetDefinition, 'name' | 'variants' | 'start' | 'checkEnv'>): Promise<ArmSpec> {
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

async function classifyArmSpec(option: string, spec: string, extraEnv: Readonly<Record<string, string>>, target: Pick<TargetDefinition, 'name' | 'variants' | 'start'>): Promise<ArmSpec> {
  const trimmed = spec.trim()
  const variants = Object.keys(target.variants ?? {})
  const forms = `a variant of target "${target.name}"${variants.length > 0 ? ` (${variants.join(', ')})` : ''}, a JSON file of env overrides, or a git ref`
  if (trimmed === '') throw specError(option, spec, `is empty; give ${forms}`)
  const cwd = target.start.cwd ?? process.cwd()
  if (target.variants?.[trimmed] !== undefined) return { spec: trimmed, kind: 'variant', env: { ...target.variants[trimmed], ...extraEnv }, commit: null }
  if (existsSync(trimmed) && statSync(trimmed).isFile()) return { spec: trimmed, kind: 'config', env: { ...readEnvFile(option, trimmed), ...extraEnv }, commit: null }
  if (trimmed.endsWith('.json')) throw specError(option, spec, 'no such file')
  const commit = await resolveCommit(trimmed, cwd)
  if (commit === null) throw specError(option, spec, `is not ${forms} of ${cwd}`)
  return { spec: trimmed, kind: 'git', env: { ...extraEnv }, commit }
}

/** Makes a resolved spec runnable. Git refs share one worktree per commit within a call. */
export async function prepareArms(arms: readonly ArmSpec[], targetCwd: string, log: (line: string) => void = () => undefined): Promise<PreparedArm[]> {
  const repoRoot = await gitRoot(targetCwd)
  // The target starts from the same folder of the ref's tree as of this one.
  const within = repoRoot === null ? '' : path.relative(repoRoot, targetCwd)
  const worktrees = new Map<string, Promise<{ dir: string; release: () => Promise<void> }>>()
  const prepared: PreparedArm[] = []
  try {
    for (const arm of arms) {
      if (arm.kind !== 'git') {
        prepared.push({ ...arm, cwd: targetCwd, release: async () => undefined })
        continue
      }
      const commit = arm.commit as string
      if (repoRoot === null) throw specError('ab', arm.spec, `${targetCwd} is not in a git repository`)
      let tree = worktrees.get(commit)
      if (tree === undefined) {
        tree = createWorktree(arm.spec, commit, repoRoot, within, log)
        worktrees.set(commit, tree)
      }
      const { dir, release } = await tree
      prepared.push({ ...arm, cwd: path.join(dir, within), release })
    }
  } catch (error) {
    await releaseAll(prepared)
    for (const tree of worktrees.values()) await tree.then((t) => t.release(), () => undefined)
    throw error
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

async function createWorktree(spec: string, commit: string, repoRoot: string, within: string, log: (line: string) => void): Promise<{ dir: string; release: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'authbench-ab-'))
  let added = false
  const release = async (): Promise<void> => {
    if (added) await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot, timeout: 30_000 }).catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
    if (added) await run('git', ['worktree', 'prune'], { cwd: repoRoot, timeout: 30_000 }).catch(() => undefined)
  }
  try {
    log(`ab: checking out ${spec} (${commit.slice(0, 12)}) into ${dir}`)
    await run('git', ['worktree', 'add', '--detach', '--force', dir, commit], { cwd: repoRoot, timeout: 120_000 })
    added = true
    if (!existsSync(path.join(dir, within))) throw new Error(`${spec} has no folder ${within || '.'}, where the target starts`)
    // Reusing this checkout's node_modules keeps a CI gate offline and fast; a ref whose
    // lockfile differs gets its own install, since its code may need other versions.
    const sameLock = readIfExists(path.join(dir, 'package-lock.json')) === readIfExists(path.join(repoRoot, 'package-lock.json'))
    if (sameLock && existsSync(path.join(repoRoot, 'node_modules'))) {
      await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
    } else {
      log(`ab: ${spec}: package-lock.json differs; running npm ci --prefer-offline`)
      await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 600_000 })
    }
    return { dir, release }
  } catch (error) {
    await release()
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message
    throw new CompareError('AUTHBENCH_ERR_AB_SPEC', `git ref "${spec}": could not prepare its target in a worktree: ${detail}`, { cause: error })
  }
}

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}
