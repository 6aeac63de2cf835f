// Arm specs of `authbench ab`: presets, JSON files of env overrides, git refs built once per
// commit into the build cache; and a bad spec, or too few pairs for the gate to fail, ends `ab` with exit 2 and a
// message naming it, before any load.
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { prepareArms, releaseAll, resolveArmSpec } from '../../harness/cli/ab-spec.ts'
import { abCommand, minPairsForSignificance } from '../../harness/cli/commands/ab.ts'
import { wilcoxonSignedRank } from '../../harness/stats/stats.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { loadConfig, targetByName } from '../../harness/config.ts'
import { commitFiles, createRepo, git } from '../helpers/git-repo.ts'

const target = targetByName(await loadConfig({ cwd: REPO_ROOT }))
import { resolveCompareSettings } from '../../harness/stats/verdict.ts'

function tmpFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'authbench-abspec-')), name)
  writeFileSync(file, text)
  return file
}

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return { io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) }, out: () => out, err: () => err }
}

describe('resolveArmSpec', () => {
  it('reads a variant name, with --x-env on top', async () => {
    const arm = await resolveArmSpec('--a', 'phase1', { INJECT_CPU_US: '5' }, target)
    expect(arm).toMatchObject({ kind: 'variant', spec: 'phase1', commit: null, env: { PRESET: 'phase1', INJECT_CPU_US: '5' } })
  })

  it('reads a JSON file of env overrides; --x-env wins over the file', async () => {
    const file = tmpFile('b.json', JSON.stringify({ PRESET: 'baseline', INJECT_CPU_US: 10, SEED_SAMPLE_DATA: true }))
    const arm = await resolveArmSpec('--b', file, { INJECT_CPU_US: '20' }, target)
    expect(arm.kind).toBe('config')
    expect(arm.env).toMatchObject({ PRESET: 'baseline', INJECT_CPU_US: '20', SEED_SAMPLE_DATA: 'true' })
  })

  it('refuses a config the target would refuse, naming the option, the file and the variable', async () => {
    const file = tmpFile('bad.json', JSON.stringify({ DB_POOL_MAX: 'lots' }))
    await expect(resolveArmSpec('--b', file, {}, target)).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_AB_SPEC', message: expect.stringMatching(/--b ".*bad\.json".*DB_POOL_MAX/) })
    await expect(resolveArmSpec('--a', 'phase2', { INJECT_DELAY_RATIO: '7' }, target)).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_AB_SPEC',
      message: expect.stringMatching(/INJECT_DELAY_RATIO/)
    })
  })

  it('refuses malformed files and unknown names', async () => {
    await expect(resolveArmSpec('--a', tmpFile('x.json', '[1,2]'), {}, target)).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_AB_SPEC',
      message: expect.stringMatching(/JSON object/)
    })
    await expect(resolveArmSpec('--a', tmpFile('y.json', '{"lower": 1}'), {}, target)).rejects.toMatchObject({
      message: expect.stringMatching(/"lower" is not an environment variable/)
    })
    await expect(resolveArmSpec('--a', 'missing-config.json', {}, target)).rejects.toMatchObject({ message: expect.stringMatching(/--a "missing-config\.json": no such file/) })
    // In a git repository, a name that is no variant is taken for a ref that does not resolve.
    await expect(resolveArmSpec('--b', 'phase9', {}, target)).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_REF_BUILD',
      message: expect.stringMatching(/--b "phase9": is not a variant of target "auth" \(baseline, phase1, phase2, phase3\).* or a git ref/)
    })
    await expect(resolveArmSpec('--b', '--upload-pack=evil', {}, target)).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_AB_SPEC' })
  })

  it('a ref missing from a shallow clone: AUTHBENCH_ERR_REF_BUILD, saying what to fetch', async () => {
    const source = createRepo()
    commitFiles(source, { 'a.txt': '1' }, 'one')
    commitFiles(source, { 'a.txt': '2' }, 'two')
    git(source, 'branch', 'feature')
    const clone = path.join(mkdtempSync(path.join(tmpdir(), 'authbench-shallow-')), 'clone')
    git(tmpdir(), 'clone', '-q', '--depth', '1', '--single-branch', '--branch', 'main', `file://${source}`, clone)
    const shallow = { name: 'svc', start: { command: 'node', cwd: clone } }
    expect((await resolveArmSpec('--b', 'HEAD', {}, shallow)).kind).toBe('git')
    await expect(resolveArmSpec('--a', 'origin/feature', {}, shallow)).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_REF_BUILD',
      message: expect.stringMatching(/--a "origin\/feature": .*this clone is shallow; fetch it: git fetch origin feature:refs\/remotes\/origin\/feature .*fetch-depth: 0/)
    })
    await expect(resolveArmSpec('--a', 'HEAD~1', {}, shallow)).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_REF_BUILD',
      message: expect.stringMatching(/git fetch --unshallow origin/)
    })
    await expect(resolveArmSpec('--a', 'feature', {}, shallow)).rejects.toMatchObject({ message: expect.stringMatching(/give origin\/feature/) })
    // What the hint says to run does make the ref resolve.
    git(clone, 'fetch', '-q', 'origin', 'feature:refs/remotes/origin/feature')
    expect((await resolveArmSpec('--a', 'origin/feature', {}, shallow)).kind).toBe('git')
  })

  it('resolves a git ref to a commit and builds it once per commit, into the build cache, leaving no worktree', async () => {
    const arm = await resolveArmSpec('--a', 'HEAD', {}, target)
    expect(arm.kind).toBe('git')
    expect(arm.commit).toMatch(/^[0-9a-f]{40}$/)
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'authbench-ab-cache-'))
    const lines: string[] = []
    const [prepared, again] = await prepareArms([arm, arm], { targetCwd: REPO_ROOT, cacheDir }, (l) => lines.push(l))
    expect(prepared?.cwd.startsWith(cacheDir)).toBe(true)
    // Both arms on one commit share one build.
    expect(again?.cwd).toBe(prepared?.cwd)
    expect(lines.filter((l) => l.includes('checking out'))).toHaveLength(1)
    expect(existsSync(path.join(prepared?.cwd as string, 'target', 'server.ts'))).toBe(true)
    // Same package-lock.json as this checkout: its node_modules is shared, nothing installed.
    expect(lstatSync(path.join(prepared?.cwd as string, 'node_modules')).isSymbolicLink()).toBe(true)
    expect(execFileSync('git', ['worktree', 'list'], { cwd: REPO_ROOT, encoding: 'utf8' })).not.toContain(cacheDir)
    await releaseAll([prepared!, again!])
    // A second gate run on the same commit starts from the cache.
    lines.length = 0
    const [cached] = await prepareArms([arm], { targetCwd: REPO_ROOT, cacheDir }, (l) => lines.push(l))
    expect(cached?.cwd).toBe(prepared?.cwd)
    expect(lines).toEqual([expect.stringMatching(/cached build in .*, skipping install and build/)])
  }, 60_000)
})

describe('abCommand with bad input', () => {
  it('exits 2 naming a spec that is neither preset, file nor ref, without starting anything', async () => {
    const c = capture()
    const code = await abCommand({ a: 'baseline', b: 'no-such-thing', out: mkdtempSync(path.join(tmpdir(), 'authbench-ab-bad-')) }, c.io, { pin: false })
    expect(code).toBe(2)
    expect(c.err()).toMatch(/--b "no-such-thing"/)
    expect(c.err()).toMatch(/AUTHBENCH_ERR_REF_BUILD/)
    expect(c.err()).not.toMatch(/\[1\//)
  })

  it('exits 2 when an arm is missing, or an option is bad', async () => {
    const c = capture()
    expect(await abCommand({ a: 'baseline' }, c.io, { pin: false })).toBe(2)
    expect(c.err()).toMatch(/--b/)
    const d = capture()
    expect(await abCommand({ a: 'baseline', b: 'phase2', trials: '0' }, d.io, { pin: false })).toBe(2)
    expect(d.err()).toMatch(/--trials/)
    const e = capture()
    expect(await abCommand({ a: 'baseline', b: 'phase2', aEnv: ['lower=1'] }, e.io, { pin: false })).toBe(2)
    expect(e.err()).toMatch(/--a-env "lower=1"/)
    const f = capture()
    expect(await abCommand({ a: 'baseline', b: 'phase2', scenario: ['nope'] }, f.io, { pin: false })).toBe(2)
    expect(f.err()).toMatch(/unknown scenario "nope"/)
  })
})

describe('minPairsForSignificance', () => {
  it('is the smallest pair count whose signed-rank test can reach p < alpha', () => {
    expect(minPairsForSignificance(0.05)).toBe(6)
    expect(minPairsForSignificance(0.01)).toBe(8)
    const allWorse = (n: number): number => wilcoxonSignedRank(Array.from({ length: n }, (_, i) => 0.1 + i / 100)).pValue
    expect(allWorse(5)).toBeGreaterThanOrEqual(0.05)
    expect(allWorse(6)).toBeLessThan(0.05)
  })
})

describe('ab refuses a gate that could not fail', () => {
  it('a gross injected regression with 4 pairs is refused before any load: exit 2 naming --trials and the minimum', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-ab-fewpairs-'))
    const f = capture()
    const code = await abCommand({ a: 'phase2', b: 'phase2', bEnv: ['INJECT_CPU_US=300'], scenario: ['validate'], trials: '4', out }, f.io, { pin: false })
    expect(code).toBe(2)
    expect(f.err()).toMatch(/--trials 4 is too few: .*fewer than 6 pairs .*smallest p is 0\.125.*use --trials 6 or more/)
    // Nothing ran: no target was started, no result directory was written.
    expect(f.err()).not.toMatch(/trials: A =/)
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([])
    // With the rank-test guard off, four pairs are allowed: the interval alone then decides.
    const g = capture()
    const none = await abCommand({ a: 'phase2', b: 'phase2', scenario: ['nope'], trials: '4' }, g.io, {
      pin: false,
      settings: resolveCompareSettings({ requireSignificance: false })
    })
    expect(none).toBe(2)
    expect(g.err()).toMatch(/unknown scenario "nope"/)
  })
})
