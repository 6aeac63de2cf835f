// --profile's options and the mark a profiled run leaves for `compare`.
import { describe, expect, it } from 'vitest'
import { BadOptionError } from '../../../harness/errors.ts'
import { profileNoteForArms, profileNoteForRuns } from '../../../harness/stats/profile-notes.ts'
import { isNodeCommand, withInspector } from '../../../harness/profile/profiler.ts'
import { parseProfileOptions } from '../../../harness/profile/session.ts'
import type { RunResult } from '../../../harness/types.ts'

describe('parseProfileOptions', () => {
  it('is off by default, and takes an interval in µs and an arm', () => {
    expect(parseProfileOptions({})).toBeNull()
    expect(parseProfileOptions({ profile: true })).toEqual({ samplingIntervalUs: 1_000, arms: ['A', 'B'] })
    expect(parseProfileOptions({ profile: true, profileInterval: '500us', profileArm: 'b' })).toEqual({ samplingIntervalUs: 500, arms: ['B'] })
  })

  it('refuses bad values and profile options without --profile, as usage errors', () => {
    for (const raw of [{ profile: true, profileInterval: '10' }, { profile: true, profileInterval: 'fast' }, { profile: true, profileArm: 'c' }, { profileInterval: '500' }]) {
      expect(() => parseProfileOptions(raw)).toThrow(BadOptionError)
    }
  })
})

describe('the inspector flags', () => {
  it("go before a Node target's arguments, and a non-Node command is refused", () => {
    expect(withInspector({ command: 'node', args: ['--import', 'tsx', 'server.ts'] }, 4321).args?.slice(0, 1)).toEqual(['--inspect=127.0.0.1:4321'])
    expect(withInspector({ command: 'node', args: ['server.ts'] }, 4321).args?.at(-1)).toBe('server.ts')
    expect(withInspector({}, 4321).nodeArgs).toContain('--inspect=127.0.0.1:4321')
    expect(isNodeCommand('/usr/local/bin/node')).toBe(true)
    expect(() => withInspector({ command: 'python3', args: ['app.py'] }, 4321)).toThrow(BadOptionError)
  })
})

describe('profile notes', () => {
  const run = (profile?: RunResult['profile']): RunResult => ({ ...(profile === undefined ? {} : { profile }) }) as RunResult
  const info = (samplingIntervalUs: number, groups: string[]) => ({ samplingIntervalUs, groups, dir: 'profiles', files: [] })

  it('says when only one run, or one arm, was profiled, or at another interval', () => {
    expect(profileNoteForRuns(run(), run())).toBeNull()
    expect(profileNoteForRuns(run(), run(info(1_000, [''])))).toMatch(/only the current run was CPU-profiled/)
    expect(profileNoteForRuns(run(info(1_000, [''])), run())).toMatch(/only the baseline run/)
    expect(profileNoteForRuns(run(info(1_000, [''])), run(info(500, [''])))).toMatch(/different sampling intervals/)
    expect(profileNoteForArms(run(info(1_000, ['A', 'B'])))).toBeNull()
    expect(profileNoteForArms(run(info(1_000, ['B'])))).toMatch(/only arm B/)
  })
})
