// The environment a run was measured in, so that two result files can be told apart: Node, CPU,
// OS, git commit (null when git or the repository is absent), the target's variant and options.
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import type { EnvironmentFingerprint } from '../types.ts'

export interface FingerprintInput {
  variant: string | null
  /** Values of the target's declared options, by option name. */
  targetOptions?: Readonly<Record<string, string>>
  driver: EnvironmentFingerprint['driver']
  cwd?: string
}

export function readGit(cwd: string): { gitCommit: string | null; gitDirty: boolean | null } {
  const git = (args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim()
    } catch {
      return null
    }
  }
  const gitCommit = git(['rev-parse', 'HEAD'])
  if (gitCommit === null) return { gitCommit: null, gitDirty: null }
  const status = git(['status', '--porcelain', '--untracked-files=no'])
  return { gitCommit, gitDirty: status === null ? null : status !== '' }
}

/** Everything but what only the running target knows (its config and where it was pinned). */
export function collectFingerprint(input: FingerprintInput): Omit<EnvironmentFingerprint, 'targetConfig' | 'cpuPinning'> {
  const cpus = os.cpus()
  return {
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    hostname: os.hostname(),
    ...readGit(input.cwd ?? process.cwd()),
    variant: input.variant,
    targetOptions: { ...input.targetOptions },
    driver: input.driver
  }
}
