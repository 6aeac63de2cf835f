// The frame every HTML report shares: one self-contained page that works offline (Chart.js
// inlined, no CDN), its data in a JSON script tag, a page script that draws from it, and the
// common style. report.html, phases.html and capacity.html add only their own body and CSS.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export interface HtmlAssets {
  /** Chart.js UMD build, inlined in a <script>. */
  chartJs: string
}

let cachedChartJs: string | null = null

/** Reads Chart.js's UMD build from node_modules (its package exports do not expose the file). */
export function loadChartJs(): string {
  if (cachedChartJs === null) {
    const entry = createRequire(import.meta.url).resolve('chart.js')
    cachedChartJs = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8')
  }
  return cachedChartJs
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** Makes JavaScript safe inside <script>…</script>: no early end tag, no script-data escape state. */
export function escapeInlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

/** JSON for a <script type="application/json">: `<` escaped so no string can close the tag. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Type, headings and tables as every report sets them; a report's own CSS follows. */
export const BASE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #111827; }
h1 { font-size: 1.1rem; } h2 { font-size: 1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #d1d5db; padding: 0.2rem 0.5rem; text-align: right; }`

export interface Page {
  /** Plain text; escaped here. */
  title: string
  /** The report's own rules, after BASE_CSS. */
  css: string
  /** Trusted HTML, already escaped by the report. */
  body: string
  /** The id of the JSON data tag the page script reads, and the data. */
  dataId: string
  data: unknown
  chartJs: string
  /** The page script that draws the charts from the data. */
  script: string
}

export function renderPage(page: Page): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>
${BASE_CSS}
${page.css}
</style>
</head>
<body>
${page.body}
<script type="application/json" id="${page.dataId}">${jsonForScript(page.data)}</script>
<script>${escapeInlineScript(page.chartJs)}</script>
<script>${escapeInlineScript(page.script)}</script>
</body>
</html>
`
}

/** Puts a section at the end of an HTML page's body. */
export function insertBeforeBodyEnd(html: string, section: string): string {
  if (section === '') return html
  const at = html.lastIndexOf('</body>')
  return at < 0 ? `${html}${section}` : `${html.slice(0, at)}${section}\n${html.slice(at)}`
}
