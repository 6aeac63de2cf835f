// What an A/B arm runs: a preset name, a JSON file of target environment overrides, or a git ref
// whose target is checked out into a temporary worktree. A spec is resolved (and checked) before
// any trial runs, so a typo fails at once with exit 2 and a message naming it, not 10 minutes in.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { PRESETS, loadConfig } from '../target/config.ts'
import { CompareError } from './compare-errors.ts'
import { REPO_ROOT } from './target-process.ts'

const run = promisify(execFile)

export type ArmSpecKind = 'preset' | 'config' | 'git'

export interface ArmSpec {
  /** As given on the command line. */
  spec: string
  kind: ArmSpecKind
  /** Environment for the target (on top of this process's): LOG_LEVEL, PRESET, file overrides, --x-env. */
  env: Record<string, string>
  /** Git ref only: the commit it resolved to. */
  commit: string | null
}

/** A spec made runnable: where its target/server.ts lives. `release()` removes any worktree. */
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
 * Classifies and checks a spec. Preset names win, then existing files, then git refs. For a preset
 * or a file the target's own config loader checks the overrides here, so a bad value names the
 * option; a git ref's config can only be checked by starting its (other) code.
 */
export async function resolveArmSpec(option: string, spec: string, extraEnv: Readonly<Record<string, string>>, cwd = REPO_ROOT): Promise<ArmSpec> {
  const trimmed = spec.trim()
  if (trimmed === '') throw specError(option, spec, 'is empty; give a preset (baseline, phase1, phase2, phase3), a JSON file of env overrides, or a git ref')
  const base: Record<string, string> = { LOG_LEVEL: 'warn' }
  let kind: ArmSpecKind
  let commit: string | null = null
  let env: Record<string, string>
  if ((PRESETS as readonly string[]).includes(trimmed)) {
    kind = 'preset'
    env = { ...base, PRESET: trimmed, ...extraEnv }
  } else if (existsSync(trimmed) && statSync(trimmed).isFile()) {
    kind = 'config'
    env = { ...base, ...readEnvFile(option, trimmed), ...extraEnv }
  } else if (trimmed.endsWith('.json')) {
    throw specError(option, spec, 'no such file')
  } else {
    commit = await resolveCommit(trimmed, cwd)
    if (commit === null) throw specError(option, spec, `is not a preset (${PRESETS.join(', ')}), an existing JSON file, or a git ref of ${cwd}`)
    kind = 'git'
    env = { ...base, ...extraEnv }
  }
  if (kind !== 'git') {
    try {
      // PORT is the harness's to choose; everything else is what the target will read.
      loadConfig({ ...process.env, ...env, PORT: '0' })
    } catch (error) {
      throw specError(option, spec, `the target would refuse this config: ${(error as Error).message}`)
    }
  }
  return { spec: trimmed, kind, env, commit }
}

/** Makes a resolved spec runnable. Git refs share one worktree per commit within a call. */
export async function prepareArms(arms: readonly ArmSpec[], repoRoot = REPO_ROOT, log: (line: string) => void = () => undefined): Promise<PreparedArm[]> {
  const worktrees = new Map<string, Promise<{ dir: string; release: () => Promise<void> }>>()
  const prepared: PreparedArm[] = []
  try {
    for (const arm of arms) {
      if (arm.kind !== 'git') {
        prepared.push({ ...arm, cwd: repoRoot, release: async () => undefined })
        continue
      }
      const commit = arm.commit as string
      let tree = worktrees.get(commit)
      if (tree === undefined) {
        tree = createWorktree(arm.spec, commit, repoRoot, log)
        worktrees.set(commit, tree)
      }
      const { dir, release } = await tree
      prepared.push({ ...arm, cwd: dir, release })
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

async function createWorktree(spec: string, commit: string, repoRoot: string, log: (line: string) => void): Promise<{ dir: string; release: () => Promise<void> }> {
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
    if (!existsSync(path.join(dir, 'target', 'server.ts'))) throw new Error(`${spec} has no target/server.ts`)
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
