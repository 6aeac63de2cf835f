// The profile's report sections in headless Chromium (Debian's `chromium` through playwright-core):
// the differential tables have rows, the differential flame graph draws red and blue frames, each
// arm's flame graph draws frames, nothing is fetched and the console stays clean. report.md gets
// the top five rows. Without Chromium the test fails under CI=true and is skipped elsewhere.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { compareAB } from '../../../harness/reporters/headline.ts'
import { analyseProfiles } from '../../../harness/profile/analysis.ts'
import type { ProfileSample } from '../../../harness/profile/analysis.ts'
import { renderProfileHtml, renderProfileMarkdown } from '../../../harness/profile/report.ts'
import { insertBeforeBodyEnd } from '../../../harness/profile/session.ts'
import { renderHtml } from '../../../harness/reporters/html.ts'
import { makeAbRun } from '../../fixtures/results/build.ts'
import { buildProfile } from './build.ts'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium to test report.html`)

const workDir = mkdtempSync(path.join(tmpdir(), 'authbench-profile-html-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

/** Arm B spends more in `hot` and less in `cold`; `common` is the same in both. */
function samples(): ProfileSample[] {
  const out: ProfileSample[] = []
  for (let pair = 0; pair < 6; pair++) {
    for (const group of ['A', 'B']) {
      const b = group === 'B'
      out.push({
        scenario: 'health',
        group,
        pair,
        requests: 1_000,
        valid: true,
        profile: buildProfile([
          { stack: ['main@app.ts:1', 'handle@app.ts:10', 'common@app.ts:20'], samples: 300 + pair },
          { stack: ['main@app.ts:1', 'handle@app.ts:10', 'hot@app.ts:30'], samples: b ? 120 + pair : 20 },
          { stack: ['main@app.ts:1', 'cold@app.ts:40'], samples: b ? 10 : 90 },
          { stack: ['(idle)'], samples: 50 }
        ])
      })
    }
  }
  return out
}

const PROBE = `(() => {
  const rows = Array.from(document.querySelectorAll('table.profile-diff')).map((t) => t.querySelectorAll('tbody tr').length)
  const figures = Array.from(document.querySelectorAll('figure.flame')).map((f) => {
    const box = f.querySelector('svg').getBoundingClientRect()
    const fills = Array.from(f.querySelectorAll('rect')).map((r) => getComputedStyle(r).fill)
    return { kind: f.getAttribute('data-flame'), frames: fills.length, width: box.width, height: box.height,
      red: fills.filter((c) => /^rgb\\(255, \\d+, \\d+\\)$/.test(c) && !/^rgb\\(255, 255/.test(c)).length,
      blue: fills.filter((c) => /, 255\\)$/.test(c) && !/^rgb\\(255/.test(c)).length,
      firstTitle: (f.querySelector('g.frame title') || {}).textContent || '' }
  })
  return { rows, figures, topSelf: document.querySelector('table[data-profile-table="self"] tbody tr td code').textContent }
})()`

describe('profile report sections', () => {
  const result = makeAbRun('ab', 6, 3, {
    health: { a: { trials: 6, throughputRps: 9_000, p50Us: 900, samplesPerTrial: 200 }, b: { trials: 6, throughputRps: 8_000, p50Us: 1_000, samplesPerTrial: 200 } }
  })
  const analysis = analyseProfiles(result, samples(), ['A', 'B'], 1_000)

  it('report.md gets the top five rows of the self and total tables, the changed function first', () => {
    const md = renderProfileMarkdown(analysis)
    expect(md).toContain('### health: B against A (6 pairs')
    const selfRows = md.split('\n').filter((l) => l.startsWith('| `'))
    expect(selfRows).toHaveLength(10)
    expect(selfRows[0]).toMatch(/^\| `hot` \| app\.ts:30 \| 20\.0 \| 12\d \| \+10\d \| \[\+/)
    expect(selfRows[0]).toContain('beyond noise')
  })

  it.skipIf(!haveChromium)(
    'renders the tables and the flame graphs in headless Chromium, offline',
    async () => {
      const file = path.join(workDir, 'report.html')
      writeFileSync(file, insertBeforeBodyEnd(renderHtml(result, compareAB(result)), renderProfileHtml(analysis)))
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
      })
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        const errors: string[] = []
        const external: string[] = []
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text())
        })
        page.on('pageerror', (e) => errors.push(e.message))
        await page.route('**/*', async (route) => {
          const url = route.request().url()
          if (url.startsWith('file:')) return route.continue()
          external.push(url)
          return route.abort()
        })
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
        const r = (await page.evaluate(PROBE)) as {
          rows: number[]
          topSelf: string
          figures: Array<{ kind: string; frames: number; width: number; height: number; red: number; blue: number; firstTitle: string }>
        }
        expect(errors).toEqual([])
        expect(external).toEqual([])
        expect(r.rows).toEqual([5, 5])
        expect(r.topSelf).toBe('hot')
        const diff = r.figures.filter((f) => f.kind === 'diff')
        const arms = r.figures.filter((f) => f.kind === 'arm')
        expect(diff).toHaveLength(1)
        expect(arms).toHaveLength(2)
        // root, main, handle, common, hot, cold
        expect(diff[0]?.frames).toBe(6)
        expect(diff[0]?.red).toBeGreaterThanOrEqual(1)
        expect(diff[0]?.blue).toBeGreaterThanOrEqual(1)
        for (const f of [...diff, ...arms]) {
          expect(f.width).toBeGreaterThan(1_000)
          expect(f.height).toBeGreaterThan(50)
        }
        expect(arms.every((f) => f.frames === 6)).toBe(true)
        expect(diff[0]?.firstTitle).toContain('µs/req')
      } finally {
        await browser.close()
      }
    },
    60_000
  )
})
