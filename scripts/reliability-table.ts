// Renders the "Reliability" table in docs/reliability.md from what the fault suite (test/resilience/) measured:
// each case writes reports/resilience/<case>.json, and this replaces the text between the
// page's reliability markers with one row per case. Run after `npm run test:resilience`:
//   node --import tsx scripts/reliability-table.ts [--check]
// --check exits 1 when a case is missing or did not pass, without touching the page.
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../harness/engine/target-process.ts'
import type { ReliabilityRow } from '../test/resilience/helpers.ts'

// The case's own row (test/resilience/helpers.ts writes it), with when and beside what it was measured.
interface Row extends ReliabilityRow {
  measuredAt: string
  loadAverage: [number, number]
}

export const EXPECTED_CASES = ['pg-restart', 'redis-cut', 'sigterm-memory', 'sigterm-postgres', 'sigkill-postgres', 'slow-clients', 'fuzz']
/** The page that holds the table, relative to the repository root. */
export const PAGE = 'docs/reliability.md'
const START = '<!-- reliability:start -->'
const END = '<!-- reliability:end -->'

export function renderTable(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|')
  const lines = ['| case | injected | load | lost (goal 0) | time to recover | 5xx | result |', '|---|---|---|---|---|---|---|']
  for (const r of [...rows].sort((a, b) => a.order - b.order)) {
    const recover = r.recoverMs === null ? '—' : r.recoverMs >= 1_000 ? `${(r.recoverMs / 1000).toFixed(1)} s` : `${r.recoverMs} ms`
    lines.push(`| ${r.id} | ${esc(r.fault)} | ${esc(r.load)} | ${esc(r.lost)} | ${recover} | ${esc(r.fiveXx)} | ${r.passed ? 'pass' : '**FAIL**'} |`)
  }
  const notes = [...rows]
    .sort((a, b) => a.order - b.order)
    .filter((r) => r.notes)
    .map((r) => `- ${r.id}: ${r.notes}`)
  const when = rows.map((r) => r.measuredAt).sort()
  const loads = rows.map((r) => r.loadAverage[0])
  return [
    ...lines,
    '',
    ...notes,
    '',
    `Measured ${when[0]?.slice(0, 16).replace('T', ' ')}–${when.at(-1)?.slice(11, 16)} UTC by \`npm run test:resilience\`; 1-minute load average ${Math.min(...loads)}–${Math.max(...loads)} during the cases.`
  ].join('\n')
}

function main(): void {
  const dir = join(REPO_ROOT, 'reports', 'resilience')
  const rows: Row[] = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Row)
    : []
  const missing = EXPECTED_CASES.filter((id) => !rows.some((r) => r.id === id))
  const failed = rows.filter((r) => !r.passed).map((r) => r.id)
  if (process.argv.includes('--check')) {
    if (missing.length > 0 || failed.length > 0) {
      process.stderr.write(`reliability: missing ${missing.join(', ') || 'none'}; failed ${failed.join(', ') || 'none'}\n`)
      process.exit(1)
    }
    return
  }
  if (missing.length > 0) process.stderr.write(`reliability: no figures for ${missing.join(', ')} (run npm run test:resilience); rendering the rest\n`)
  const pagePath = join(REPO_ROOT, PAGE)
  const page = readFileSync(pagePath, 'utf8')
  const a = page.indexOf(START)
  const b = page.indexOf(END)
  if (a < 0 || b < a) {
    process.stderr.write(`reliability: ${PAGE} has no ${START} … ${END} markers\n`)
    process.exit(2)
  }
  const next = `${page.slice(0, a + START.length)}\n${renderTable(rows)}\n${page.slice(b)}`
  const tmp = `${pagePath}.${process.pid}.tmp`
  writeFileSync(tmp, next)
  renameSync(tmp, pagePath)
  process.stdout.write(`reliability: ${rows.length} rows written to ${PAGE}\n`)
}

if (import.meta.url === `file://${process.argv[1]}`) main()
