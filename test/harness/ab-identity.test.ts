// An A/B result names each arm by the commit its code came from, and the comparison's baseline (A)
// and current (B) identities carry those commits: between two git refs the report must not name
// the checkout's commit for both, which reads as an A/A run.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import { AbOrchestrator } from '../../harness/engine/ab.ts'
import { DUET } from '../../harness/engine/engine.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { validateResult } from '../../harness/result-io.ts'
import { judgeAB } from '../../harness/stats/compare.ts'
import type { RunResult } from '../../harness/types.ts'
import { makeAbRun } from '../fixtures/results/build.ts'

const COMMIT_A = 'e55eb03a1c9f0d6b7e2a4c8d1f3b5a7c9e0d2f41'
const COMMIT_B = '3f23f9b85c7e1d0a2b4c6e8f0a1b3c5d7e9f1a23'

const shape = { trials: 1, throughputRps: 10_000, p50Us: 500, cpuUsPerRequest: 50 }

function abRun(): RunResult {
  const run = makeAbRun('upgrade', 7, 4, { items: { a: shape, b: shape } })
  // The checkout is at B: its fingerprint says B's commit, whatever A was.
  return { ...run, environment: { ...run.environment, gitCommit: COMMIT_B, gitDirty: false } }
}

describe('the identities of an A/B comparison', () => {
  it('name the commit of each arm', () => {
    const run: RunResult = {
      ...abRun(),
      arms: { A: { spec: 'HEAD~1', kind: 'git', commit: COMMIT_A }, B: { spec: 'HEAD', kind: 'git', commit: COMMIT_B } }
    }
    expect(validateResult(run)).toEqual([])
    const judged = judgeAB(run)
    expect(judged.baseline.gitCommit).toBe(COMMIT_A)
    expect(judged.current.gitCommit).toBe(COMMIT_B)
    expect(judged.baseline.label).toBe('upgrade (A)')
    expect(judged.current.label).toBe('upgrade (B)')
  })

  it('read the arms of a file that recorded them only in environment.targetConfig', () => {
    const base = abRun()
    const run: RunResult = {
      ...base,
      environment: {
        ...base.environment,
        targetConfig: { arms: { A: { spec: 'HEAD~1', kind: 'git', commit: COMMIT_A, env: {} }, B: { spec: 'HEAD', kind: 'git', commit: COMMIT_B, env: {} } } }
      }
    }
    const judged = judgeAB(run)
    expect(judged.baseline.gitCommit).toBe(COMMIT_A)
    expect(judged.current.gitCommit).toBe(COMMIT_B)
  })

  it("fall back to the checkout's commit where an arm names none (a variant, an older file)", () => {
    const judged = judgeAB(abRun())
    expect(judged.baseline.gitCommit).toBe(COMMIT_B)
    expect(judged.current.gitCommit).toBe(COMMIT_B)
  })
})

describe('an A/B run between two commits', () => {
  it('records each arm with its own commit in the result', async () => {
    const cwd = path.join(REPO_ROOT, 'test', 'fixtures', 'user-service')
    const target = { name: 'items', start: { command: 'node', args: ['server.mjs'], cwd }, readiness: { path: '/health', timeoutMs: 10_000 } }
    const scenario = defineScenario({ name: 'health', request: { method: 'GET', path: '/health', expectedStatuses: [200] } })
    const arm = (spec: string, commit: string) => ({ kind: 'git', spec, commit, env: {}, cwd })
    const result = await new AbOrchestrator().run({
      target,
      arms: { A: arm('HEAD~1', COMMIT_A), B: arm('HEAD', COMMIT_B) },
      scenarios: [
        {
          scenario,
          params: {},
          load: { model: 'closed', durationMs: 300, warmupMs: 100, warmupMaxMs: 100, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2_000 }
        }
      ],
      pairs: 1,
      seed: 1,
      label: 'two-commits',
      calibration: false,
      pin: false,
      errorRateThreshold: 0.01,
      lateShareThreshold: 0.05,
      maxPoolSize: 1_000,
      slotMs: DUET
    })
    expect(result.aborted).toBeNull()
    expect(result.arms).toEqual({ A: { spec: 'HEAD~1', kind: 'git', commit: COMMIT_A }, B: { spec: 'HEAD', kind: 'git', commit: COMMIT_B } })
    expect(validateResult(result)).toEqual([])
    const judged = judgeAB(result)
    expect([judged.baseline.gitCommit, judged.current.gitCommit]).toEqual([COMMIT_A, COMMIT_B])
  }, 60_000)
})
