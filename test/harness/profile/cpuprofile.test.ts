// The profile arithmetic: cutting to measured windows, merging processes, self and total time per
// function, and the differential table over pairs.
import { describe, expect, it } from 'vitest'
import { addToTree, emptyTree, functionTable, mergeProfiles, sampleWeights, sliceProfile } from '../../../harness/profile/cpuprofile.ts'
import { diffScenario, noiseFloorUs } from '../../../harness/profile/analysis.ts'
import type { ProfileSample } from '../../../harness/profile/analysis.ts'
import { diffColour } from '../../../harness/profile/flamegraph.ts'
import { buildProfile } from './build.ts'

describe('sliceProfile', () => {
  it('keeps only the samples inside the windows, each weighted up to its window end, and closes the gaps', () => {
    // 10 samples of 1 ms from t = 1 s: setup (3), measured (4), other arm (3).
    const p = buildProfile([
      { stack: ['setup'], samples: 3 },
      { stack: ['work'], samples: 4 },
      { stack: ['other'], samples: 3 }
    ])
    const cut = sliceProfile(p, [{ startUs: 1_003_000, endUs: 1_006_500 }])
    const t = functionTable(cut)
    expect(t.functions.has([...t.functions.keys()].find((k) => k.startsWith('setup')) ?? 'none')).toBe(false)
    const work = [...t.functions.values()].find((f) => f.id.name === 'work')
    // Samples at 3, 4, 5 ms weigh 1 ms each, the one at 6 ms only up to the window's end: 0.5 ms.
    expect(work?.selfUs).toBe(3_500)
    expect(t.busyUs).toBe(3_500)
    expect(cut.endTime - cut.startTime).toBe(3_500)
    expect(sampleWeights(cut).reduce((a, b) => a + b, 0)).toBe(3_500)
    // Nodes no kept sample passes through are dropped.
    expect(cut.nodes.map((n) => n.callFrame.functionName).sort()).toEqual(['(root)', 'work'])
  })

  it('takes several windows and nothing between them; a window before the profile keeps nothing', () => {
    const p = buildProfile([
      { stack: ['a'], samples: 2 },
      { stack: ['b'], samples: 2 },
      { stack: ['a'], samples: 2 }
    ])
    const cut = sliceProfile(p, [
      { startUs: 1_004_000, endUs: 1_006_000 },
      { startUs: 1_000_000, endUs: 1_002_000 }
    ])
    const names = [...functionTable(cut).functions.values()].map((f) => [f.id.name, f.selfUs])
    expect(names).toEqual([['a', 4_000]])
    expect(sliceProfile(p, [{ startUs: 0, endUs: 10 }]).samples).toEqual([])
  })

  it("rewrites file URLs under the arm's directory as relative paths", () => {
    const p = buildProfile([{ stack: ['f@file:///w/a/src/x.ts:3'], samples: 2 }])
    const cut = sliceProfile(p, [{ startUs: 0, endUs: 1e12 }], '/w/a')
    expect(cut.nodes.find((n) => n.callFrame.functionName === 'f')?.callFrame.url).toBe('src/x.ts')
  })
})

describe('functionTable', () => {
  it('counts self at the leaf and total once per sample, recursion included; idle stays apart', () => {
    const p = buildProfile([
      { stack: ['main', 'f', 'g'], samples: 3 },
      { stack: ['main', 'f', 'f'], samples: 2 },
      { stack: ['main'], samples: 1 },
      { stack: ['(idle)'], samples: 4 }
    ])
    const t = functionTable(p)
    const get = (name: string) => [...t.functions.values()].find((f) => f.id.name === name)
    expect(get('g')).toMatchObject({ selfUs: 3_000, totalUs: 3_000 })
    expect(get('f')).toMatchObject({ selfUs: 2_000, totalUs: 5_000 })
    expect(get('main')).toMatchObject({ selfUs: 1_000, totalUs: 6_000 })
    expect(t.busyUs).toBe(6_000)
    expect(t.idleUs).toBe(4_000)
  })
})

describe('mergeProfiles', () => {
  it('puts each process under its own frame and adds their time', () => {
    const a = buildProfile([{ stack: ['accept'], samples: 2 }])
    const b = buildProfile([{ stack: ['handle'], samples: 3 }])
    const m = mergeProfiles([
      { profile: a, label: 'primary' },
      { profile: b, label: 'worker 1' }
    ])
    const t = functionTable(m)
    expect([...t.functions.values()].map((f) => [f.id.name, f.selfUs, f.totalUs]).sort()).toEqual([
      ['(primary)', 0, 2_000],
      ['(worker 1)', 0, 3_000],
      ['accept', 2_000, 2_000],
      ['handle', 3_000, 3_000]
    ])
    expect(m.endTime - m.startTime).toBe(5_000)
    const tree = addToTree(emptyTree(), m, 1 / 10)
    expect(tree.total).toBeCloseTo(500)
  })
})

describe('diffScenario', () => {
  const sample = (group: string, pair: number, hot: number, requests = 100): ProfileSample => ({
    scenario: 's',
    group,
    pair,
    requests,
    valid: true,
    profile: buildProfile([
      { stack: ['handler@app.ts:10', 'common@app.ts:20'], samples: 50 + (pair % 2) },
      { stack: ['handler@app.ts:10', 'hot@app.ts:30'], samples: hot }
    ])
  })

  it("puts the function that changed at the top with Δ self µs/req from each pair's own profiles and an interval that excludes zero", () => {
    const samples = [0, 1, 2, 3, 4, 5].flatMap((p) => [sample('A', p, 0), sample('B', p, 20 + p)])
    const d = diffScenario(samples, 's', 'A', 'B')
    expect(d).not.toBeNull()
    const top = d?.self[0]
    expect(top).toMatchObject({ name: 'hot', url: 'app.ts', line: 30, a: 0 })
    // 20..25 samples of 1 ms over 100 requests: 200..250 µs/req, median 225.
    expect(top?.delta).toBeCloseTo(225)
    expect(top?.low ?? 0).toBeGreaterThan(0)
    expect(top?.excessUs ?? 0).toBeGreaterThan(d?.noiseFloorUs ?? Infinity)
    // Total: the caller grows by as much; the function that did not change stays within noise.
    expect(d?.total[0]?.name).toMatch(/hot|handler/)
    const common = d?.self.find((r) => r.name === 'common')
    expect(common?.delta).toBe(0)
    expect(common?.excessUs).toBe(0)
  })

  it('pairs only where both arms have a valid trial', () => {
    const samples = [sample('A', 0, 0), sample('B', 0, 5), sample('A', 1, 0), { ...sample('B', 1, 5), valid: false }, sample('B', 2, 5)]
    expect(diffScenario(samples, 's', 'A', 'B')?.pairs).toBe(1)
    expect(diffScenario(samples, 's', 'A', 'C')).toBeNull()
  })

  it("has a floor that grows with the scenario's cost", () => {
    expect(noiseFloorUs(10)).toBeGreaterThanOrEqual(noiseFloorUs(0))
    expect(noiseFloorUs(1_000)).toBeGreaterThan(noiseFloorUs(10))
  })
})

describe('diffColour', () => {
  it('is red where B spends more, blue where less, neutral when equal', () => {
    expect(diffColour(5, 10)).toMatch(/^rgb\(255,/)
    expect(diffColour(-5, 10)).toMatch(/,255\)$/)
    expect(diffColour(0, 10)).toBe('rgb(235,235,235)')
  })
})
