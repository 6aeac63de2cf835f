// report.html renders in headless Chromium (Debian's `chromium`, driven by playwright-core):
// every chart exists with data, draws non-blank pixels, nothing is fetched from the network and
// the console stays clean. Without Chromium the test fails under CI=true and is skipped elsewhere.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { compareAB, compareResults } from '../../harness/reporters/headline.ts'
import { renderHtml } from '../../harness/reporters/html.ts'
import type { Comparison, RunResult } from '../../harness/types.ts'
import { makeAbRun, makeRun } from '../fixtures/results/build.ts'
import type { ScenarioShape } from '../fixtures/results/build.ts'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium) to test report.html`)
}
if (!haveChromium) console.warn(`skipping the report.html rendering test: ${CHROMIUM} not found (apt-get install -y chromium)`)

const SHAPE: ScenarioShape = { trials: 3, throughputRps: 9_000, p50Us: 900, samplesPerTrial: 1000 }
const workDir = mkdtempSync(path.join(tmpdir(), 'authbench-html-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

interface PageReport {
  charts: number
  chartsWithData: number
  blankCanvases: string[]
  errors: string[]
  externalRequests: string[]
}

// Runs in the page. A string, because this project's TypeScript has no DOM types.
const PROBE = `(() => {
  const charts = window.authbenchCharts || []
  const blank = []
  for (const canvas of Array.from(document.querySelectorAll('canvas'))) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
    let painted = 0
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++
    if (painted < 500) blank.push(canvas.getAttribute('data-chart') + ':' + (canvas.getAttribute('data-scenario') || ''))
  }
  return {
    charts: charts.length,
    chartsWithData: charts.filter((chart) => chart.data.datasets.some((dataset) => dataset.data.some((point) => point !== null))).length,
    blankCanvases: blank
  }
})()`

async function render(result: RunResult, comparison: Comparison, name: string): Promise<PageReport> {
  const file = path.join(workDir, `${name}.html`)
  writeFileSync(file, renderHtml(result, comparison))
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: string[] = []
    const externalRequests: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    page.on('pageerror', (error) => errors.push(error.message))
    // The report must work offline: anything but the file itself is refused and recorded.
    await page.route('**/*', async (route) => {
      const url = route.request().url()
      if (url.startsWith('file:')) return route.continue()
      externalRequests.push(url)
      return route.abort()
    })
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    const report = (await page.evaluate(PROBE)) as Omit<PageReport, 'errors' | 'externalRequests'>
    return { ...report, errors, externalRequests }
  } finally {
    await browser.close()
  }
}

describe.skipIf(!haveChromium)('report.html in headless Chromium', () => {
  it('a baseline comparison: the change bars, and per scenario the spectrum and the timeline, all drawn', async () => {
    const baseline = makeRun({ label: 'base', seed: 1, scenarios: { health: SHAPE, token: { ...SHAPE, p50Us: 2_000 } } })
    const current = makeRun({ label: 'cur', seed: 2, scenarios: { health: { ...SHAPE, p50Us: 1_100 }, token: { ...SHAPE, p50Us: 2_000 } } })
    const report = await render(current, compareResults(baseline, current), 'compare')
    expect(report.errors).toEqual([])
    expect(report.externalRequests).toEqual([])
    expect(report.charts).toBe(1 + 2 * 2)
    expect(report.chartsWithData).toBe(report.charts)
    expect(report.blankCanvases).toEqual([])
  }, 60_000)

  it('an A/B comparison renders too', async () => {
    const ab = makeAbRun('ab', 3, 3, { health: { a: SHAPE, b: { ...SHAPE, p50Us: 1_000 } } })
    const report = await render(ab, compareAB(ab), 'ab')
    expect(report.errors).toEqual([])
    expect(report.charts).toBe(3)
    expect(report.blankCanvases).toEqual([])
  }, 60_000)
})
