// The reports a comparison writes, as a list of `{ name, file, render }`. `compare`, `ab` and
// `run --compare` write whatever is registered, so a new report format is a file of its own plus
// one registerReport() call (harness/reporters/index.ts for the built-in ones, or a user's config
// through the public API), and no command changes.
import path from 'node:path'
import { ensureDir, writeFileAtomic } from '../result-io.ts'
import type { Comparison, RunResult } from '../types.ts'

/** What a report is rendered from. */
export interface ReportInput {
  result: RunResult
  comparison: Comparison
  /** Sections other modules add, such as the CPU profile's tables and flame graphs. */
  extra: { markdown?: string; html?: string }
}

export interface ReportFormat {
  /** Names the report in the command's "reports:" line and in what writeReports returns. */
  readonly name: string
  /** File name in the result's folder, e.g. report.md. */
  readonly file: string
  /** A pure function of the input. */
  render(input: ReportInput): string
}

const formats: ReportFormat[] = []

/** Adds a report format (a later one with the same name replaces it); returns a function that removes it. */
export function registerReport(format: ReportFormat): () => void {
  const at = formats.findIndex((f) => f.name === format.name)
  const previous = at < 0 ? undefined : formats[at]
  const frozen = Object.freeze({ ...format })
  if (at < 0) formats.push(frozen)
  else formats[at] = frozen
  return () => {
    const now = formats.indexOf(frozen)
    if (now < 0) return
    if (previous === undefined) formats.splice(now, 1)
    else formats[now] = previous
  }
}

/** The registered formats, in registration order. */
export function reportFormats(): readonly ReportFormat[] {
  return [...formats]
}

/** Writes every registered report into `outDir`; returns each one's path by name, in order. */
export async function writeReports(result: RunResult, comparison: Comparison, outDir: string, extra: ReportInput['extra'] = {}): Promise<Record<string, string>> {
  await ensureDir(outDir)
  const written: Record<string, string> = {}
  for (const format of formats) {
    const file = path.join(outDir, format.file)
    await writeFileAtomic(file, format.render({ result, comparison, extra }))
    written[format.name] = file
  }
  return written
}
