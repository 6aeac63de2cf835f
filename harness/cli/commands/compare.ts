// `authbench compare <result.json> [--baseline reports/baseline.json]`: reads both runs, compares
// them, writes the registered reports (report.md, report.html, junit.xml and result.json with the
// comparison; harness/reporters/index.ts) into a new folder inside the result's (never over the
// result it read), appends report.md to $GITHUB_STEP_SUMMARY, prints the verdict line and the
// per-scenario table and returns the exit code: 0 no regression, 1 regression, 2 unreadable or
// incompatible files or invalid data.
import { appendFile } from 'node:fs/promises'
import path from 'node:path'
import { compareAB, compareResults } from '../../reporters/headline.ts'
import { BadOptionError, describeError } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { ResultFileError, readResult, resultDirName } from '../../result-io.ts'
import { formatVerdictTable } from '../../reporters/verdict-table.ts'
import { writeReports } from '../../reporters/index.ts'
import { renderJson } from '../../reporters/json.ts'
import { renderMarkdown } from '../../reporters/markdown.ts'
import { loadConfig } from '../../config.ts'
import { resolveCompareSettings } from '../../stats/verdict.ts'
import type { Comparison, RunResult } from '../../types.ts'

export const DEFAULT_BASELINE_PATH = 'reports/baseline.json'

export interface CompareCommandOptions {
  /** The current run's result.json: read unless `current` is given, and where the reports go. */
  resultPath: string
  /** The current run in memory (`run --compare`), instead of reading `resultPath`. */
  current?: RunResult
  /** Default reports/baseline.json. Without it, an A/B result is judged on its own arms. */
  baselinePath?: string
  /** Where the reports go; default: a new `<timestamp>-compare` folder inside the result's folder (run --compare: the run's folder). */
  outDir?: string
  /** Default authbench.config.json in the working directory, when it exists. */
  configPath?: string
  /** Where lines go; defaults to the console. Injected by tests. */
  stdout?: (line: string) => void
  stderr?: (line: string) => void
  /** Default process.env; GITHUB_STEP_SUMMARY is read from it. */
  env?: NodeJS.ProcessEnv
  /** Print result.json with the comparison on stdout, and nothing else there (lines go to stderr). */
  json?: boolean
}

/** Appends report.md to the GitHub Actions job summary when running there. */
export async function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY
  if (file === undefined || file === '') return
  await appendFile(file, `${markdown}\n`)
}

/**
 * Where a comparison's reports go. `run --compare` writes into its own run's folder (the result
 * there is the run's own). A stored result is never rewritten: `compare` writes into a new folder
 * inside the result's (`<run>/<timestamp>-compare/`), and an --out that would put result.json over
 * the file being read is refused.
 */
function reportsDirFor(opts: CompareCommandOptions): string {
  if (opts.current !== undefined) return opts.outDir ?? path.dirname(opts.resultPath)
  const outDir = opts.outDir ?? path.join(path.dirname(opts.resultPath), resultDirName(new Date(), 'compare'))
  if (path.resolve(outDir, 'result.json') === path.resolve(opts.resultPath))
    throw new BadOptionError(`--out ${outDir} would overwrite the result being compared (${opts.resultPath}): give another folder`)
  return outDir
}

export async function compareCommand(opts: CompareCommandOptions): Promise<number> {
  const stdout = opts.stdout ?? ((line: string) => console.log(line))
  const stderr = opts.stderr ?? ((line: string) => console.error(line))
  // Names the file's role in the message: "baseline: reports/baseline.json: no such file".
  let stage = 'config'
  try {
    const config = await loadConfig(opts.configPath === undefined ? {} : { configPath: opts.configPath })
    // Checked before the result is read, so that a bad config is named before a bad result file.
    resolveCompareSettings(config.gate, config.file ?? 'settings')
    stage = 'result'
    const current = opts.current ?? (await readResult(opts.resultPath))
    const paired = opts.baselinePath === undefined && current.kind === 'ab'
    const settings = resolveCompareSettings(config.gate, config.file ?? 'settings', paired ? 'paired' : 'baseline')
    let comparison: Comparison
    if (paired) {
      stage = 'comparison'
      comparison = compareAB(current, { settings, currentPath: opts.resultPath })
    } else {
      const baselinePath = opts.baselinePath ?? DEFAULT_BASELINE_PATH
      stage = 'baseline'
      const baseline = await readResult(baselinePath).catch((error: unknown) => {
        if (error instanceof ResultFileError && error.problem === 'MISSING' && opts.baselinePath === undefined) {
          throw new ResultFileError(baselinePath, 'MISSING', 'no such file (run `authbench baseline` first, or pass --baseline <file>)', { cause: error })
        }
        throw error
      })
      stage = 'comparison'
      comparison = compareResults(baseline, current, { settings, baselinePath, currentPath: opts.resultPath })
    }
    stage = 'reports'
    const outDir = reportsDirFor(opts)
    const written = await writeReports(current, comparison, outDir)
    await appendStepSummary(renderMarkdown(current, comparison), opts.env ?? process.env)
    const say = opts.json === true ? stderr : stdout
    say(comparison.headline)
    const table = formatVerdictTable(comparison)
    if (table !== '') say(table)
    say(`reports: ${Object.values(written).join(', ')}`)
    if (opts.json === true) stdout(renderJson(current, comparison).trimEnd())
    return exitCodeFor({ verdictExit: comparison.exitCode })
  } catch (error) {
    // Exit 2 even for an unexpected error: 1 would read as "regression" in CI.
    const { message } = describeError(error)
    stderr(`authbench compare: ${stage}: ${message}`)
    return exitCodeFor({ error })
  }
}
