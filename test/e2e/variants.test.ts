// End to end: `authbench variants` (alias `phases`) on the embedded default, short (health and validate, one round of
// 1 s trials) because the machine is shared. Checks that every preset ran on its own fresh target
// with its own config, the result file against the schema, and both reports naming every preset.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVariants } from '../../harness/cli/commands/variants.ts'
import { readResult } from '../../harness/result-io.ts'

const PRESETS = ['baseline', 'phase1', 'phase2', 'phase3']
const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-phases-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('authbench variants (end to end)', () => {
  it('runs every preset interleaved on the embedded default and writes result.json, variants.md and variants.html', async () => {
    let stderr = ''
    const io = { stdout: () => undefined, stderr: (t: string) => void (stderr += t) }
    const outcome = await runVariants(
      { scenario: ['health', 'validate'], trials: '1', duration: '1s', warmup: '300ms', out, seed: '3', calibration: false },
      io,
      // An empty environment: no DATABASE_URL or REDIS_URL from the shell can leak into the run.
      { env: {} }
    )
    expect(outcome.exitCode, stderr).toBe(0)
    expect(stderr).not.toMatch(/does not match the schema/)

    const result = await readResult(outcome.resultPath as string)
    expect(result.kind).toBe('variants')
    expect(result.trials).toHaveLength(8)
    for (const scenario of ['health', 'validate']) {
      expect(
        result.trials
          .filter((t) => t.scenario === scenario)
          .map((t) => t.variant)
          .sort()
      ).toEqual(PRESETS)
    }
    expect(result.trials.every((t) => t.round === 0 && t.validity.state === 'valid' && t.requests > 100)).toBe(true)
    // Each preset really ran its own mechanisms: the target reported them.
    const variants = (result.environment.targetConfig as { variants: Record<string, { config: Record<string, unknown> | null }> }).variants
    expect(variants.baseline?.config).toMatchObject({ preset: 'baseline', store: 'memory', cache: 'none', batchSize: 0, queueMaxConcurrent: 0 })
    expect(variants.phase2?.config).toMatchObject({ preset: 'phase2', cache: 'lru', queueMaxConcurrent: 256 })
    // On the embedded store phase3 keeps one instance: memory is per process.
    expect(variants.phase3?.config).toMatchObject({ preset: 'phase3', revocationWorkers: 4, instances: 1 })

    expect(path.basename(outcome.markdownPath as string)).toBe('variants.md')
    expect(path.basename(outcome.htmlPath as string)).toBe('variants.html')
    const markdown = readFileSync(outcome.markdownPath as string, 'utf8')
    const html = readFileSync(outcome.htmlPath as string, 'utf8')
    for (const preset of PRESETS) {
      expect(markdown).toContain(`| ${preset}`)
      expect(html).toContain(preset)
    }
    expect(markdown).toContain("The guide's table, measured here")
    expect(markdown).toMatch(/not judged \(1 complete valid round/)
    expect(html).toMatch(/<canvas id="throughput">/)
    expect(html).not.toMatch(/<script src=/)
  }, 90_000)
})
