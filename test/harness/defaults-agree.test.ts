// The defaults agree with each other: what `npm run bench` (= `authbench run` with no options)
// produces is comparable to the committed baseline, as docs/commands.md tells a new user to do.
// `run` once defaulted to 2 trials while `compare` needs 3, so every scenario came out invalid.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { parseRunOptions } from '../../harness/cli/commands/run-options.ts'
import { DEFAULT_COMPARE_SETTINGS } from '../../harness/stats/verdict.ts'
import { loadConfig } from '../../harness/config.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

// The repository's own config, as `npm run bench` reads it.
const config = await loadConfig({ cwd: REPO_ROOT })

const baseline = JSON.parse(readFileSync(new URL('../../reports/baseline.json', import.meta.url), 'utf8')) as {
  load: Record<string, { model: string; connections: number; pipelining: number; rateRps: number | null }>
  trials: Array<{ scenario: string }>
}
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }

it('npm run bench is `authbench run` with no options', () => {
  expect(pkg.scripts.bench).toMatch(/harness\/cli\/cli\.ts run$/)
})

it('the default run has as many trials as compare needs, and the baseline does too', () => {
  const opts = parseRunOptions({}, config)
  expect(opts.trials).toBeGreaterThanOrEqual(DEFAULT_COMPARE_SETTINGS.minTrials)
  for (const s of opts.scenarios) {
    expect(baseline.trials.filter((t) => t.scenario === s.scenario.name).length, s.scenario.name).toBeGreaterThanOrEqual(DEFAULT_COMPARE_SETTINGS.minTrials)
  }
})

it('every default scenario is in the baseline with the load settings compare requires to match', () => {
  const opts = parseRunOptions({}, config)
  expect(opts.scenarios.length).toBeGreaterThan(0)
  for (const s of opts.scenarios) {
    const b = baseline.load[s.scenario.name]
    expect(b, s.scenario.name).toBeDefined()
    expect({ model: s.load.model, connections: s.load.connections, pipelining: s.load.pipelining, rateRps: s.load.rateRps }, s.scenario.name).toEqual({
      model: b?.model,
      connections: b?.connections,
      pipelining: b?.pipelining,
      rateRps: b?.rateRps
    })
  }
})
