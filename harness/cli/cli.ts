// The authbench command line: declares commands and options, maps every error to an exit code
// (2 for anything the user can fix on the command line) and hands off to harness/cli/commands/*.
// Each command is `async (options, io) => exitCode`; this file holds no benchmarking logic.
import { pathToFileURL } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { EXIT, describeError } from '../errors.ts'
import { compareCommand } from './commands/compare.ts'
import { capacityCommand, type RawCapacityOptions } from './commands/capacity.ts'
import { abCommand } from './commands/ab.ts'
import type { RawAbOptions } from './commands/ab.ts'
import { baselineCommand } from './commands/baseline.ts'
import { phasesCommand } from './commands/phases.ts'
import type { RawPhasesOptions } from './commands/phases.ts'
import type { RawBaselineOptions } from './commands/baseline.ts'
import { importK6Command, k6RunCommand, locateK6 } from './commands/k6.ts'
import { parseDurationMs, parseIntOption } from './commands/run-options.ts'
import { startTarget, targetProcessOptions } from '../engine/target-process.ts'
import { loadConfig, targetByName, variantEnv } from '../config.ts'
import { runCommand } from './commands/run.ts'
import type { CommandIo } from './io.ts'
import type { RawRunOptions } from './commands/run-options.ts'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

/** The whole command line: one step per command, each declaring its options and action. */
/** Every load command's --warmup-max: the engine's warm-up until steady (harness/engine/warmup.ts). */
const WARMUP_MAX_HELP = 'the longest warm-up: it runs --warmup, then on until the cost per request stops falling (default 10s, or 10× --warmup when less); the same as --warmup for a fixed warm-up'

function buildProgram(io: CommandIo, setExit: (code: number) => void): Command {
  const program = new Command('authbench')
    .description('Load-testing and benchmarking harness for HTTP services, configured by authbench.config.ts')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })

  addRunCommand(program, io, setExit)
  addCapacityCommand(program, io, setExit)
  addCompareCommand(program, io, setExit)
  addBaselineCommand(program, io, setExit)
  addAbCommand(program, io, setExit)
  addPhasesCommand(program, io, setExit)
  addImportK6Command(program, io, setExit)
  return program
}

function addRunCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('drive scenarios against the target and write reports/<timestamp>-<label>/result.json')
    .addOption(new Option('-s, --scenario <names>', 'scenario(s) of the config, repeatable or comma list (default: all)').argParser(collect))
    .option('-d, --duration <time>', 'measured time per trial, e.g. 500ms, 5s, 1m (default 4s)')
    .option('-w, --warmup <time>', 'unrecorded warm-up before each trial (default 1s)')
    .option('--warmup-max <time>', WARMUP_MAX_HELP)
    .option('-t, --trials <n>', 'trials per scenario (default 3, the fewest compare accepts)')
    .option('-c, --connections <n>', 'closed model: concurrent connections; open model: pool size')
    .option('-p, --pipelining <n>', 'closed model: requests in flight per connection (default 1)')
    .option('-r, --rate <rps>', 'switch to the open model at this constant arrival rate (req/s)')
    .option('--timeout <time>', 'per-request timeout (default 10s)')
    .option('--url <url>', 'run against an already running target (loopback only unless --allow-remote)')
    .option('--allow-remote', 'allow a --url that is not on loopback')
    .option('--config <file>', 'config file (default: authbench.config.ts, .mjs or .json in the working directory)')
    .option('--target <name>', "which of the config's targets to start (default: the first)")
    .option('--variant <name>', "one of the target's variants (named environment sets)")
    .option('--preset <name>', 'the same as --variant (the reference target calls its variants presets: baseline, phase1, phase2, phase3)')
    .addOption(new Option('--target-env <KEY=VALUE>', 'target environment override, repeatable').argParser(collect))
    .option('--store <kind>', 'target store (STORE): memory or postgres')
    .option('--cache <kind>', 'target cache (CACHE): none, lru, redis or tiered')
    .option('--restart-per-trial', 'start a fresh target for every trial')
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label, part of the result folder name')
    .option('--json', 'print the result JSON to stdout (no progress)')
    .addOption(new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable (e.g. validate.invalidShare=0.1)').argParser(collect))
    .option('--error-threshold <share>', 'unexpected-status share above which a trial is invalid (default 0.01)')
    .option('--max-late-share <share>', 'open model: late-send share above which a trial is invalid (default 0.05)')
    .option('--max-in-flight <n>', 'open model: most requests in flight (k6 maxVUs); a send that cannot start in time is dropped and counted (default rate × 100 ms, at least --connections)')
    .addOption(new Option('--slo <objective>', "service-level objective on each scenario's merged figures, repeatable: p99<20ms, p95<=100ms, errors<0.1%, throughput>=1000; a failed one exits 1 and is a junit.xml case").argParser(collect))
    .option('--max-pool <n>', 'cap on tokens seeded per trial (default 200000)')
    .option('--no-calibration', 'skip the raw-HTTP calibration workload')
    .option('--profile', 'CPU-profile the target(s) over the measured time only (inspector on loopback); writes profiles/*.cpuprofile and a differential report')
    .option('--profile-interval <us>', 'with --profile: sampling interval in µs (default 1000)')
    .option('--no-progress', 'no progress lines on stderr')
    .option('--compare', 'compare with the baseline straight after the run (exit 1 on a regression); 5 trials by default')
    .option('--baseline <file>', 'baseline for --compare (default reports/baseline.json)')
    .addOption(new Option('--driver <name>', 'load generator: autocannon (closed, default), open (with --rate) or k6 (needs k6 >= 0.57 on PATH)').choices(['autocannon', 'open', 'k6']))
    .action(async (options: RawRunOptions & { driver?: string }) => {
      if (options.driver === 'k6' && (options as { profile?: boolean }).profile === true) {
        io.stderr('authbench: --profile profiles a Node target the harness starts; it does not apply to --driver k6\n')
        return setExit(EXIT.USAGE)
      }
      if (options.driver === 'k6') return setExit(await runWithK6(options, io))
      if (options.driver === 'open' && options.rate === undefined) {
        io.stderr('authbench: --driver open needs --rate <rps>\n')
        return setExit(EXIT.USAGE)
      }
      setExit(await runCommand(options, io))
    })
}

function addCapacityCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('capacity')
    .description('find the highest offered rate (open model) each scenario sustains under the --slo objectives: coarse steps, bisection, repeats near the knee; writes capacity.json, capacity.md and report.html (exit 1 below --min-rate)')
    .addOption(new Option('-s, --scenario <names>', 'scenario(s), repeatable or comma list (default: all)').argParser(collect))
    .addOption(new Option('--slo <objective>', 'objective each step must meet, repeatable: p99<20ms, errors<0.1%, …').argParser(collect))
    .option('--min-rate <rps>', 'exit 1 when a capacity is below this')
    .option('--start-rate <rps>', 'first coarse step (default 500; doubles until a step fails)')
    .option('--max-rate <rps>', 'highest rate tried (default 200000)')
    .option('--step-duration <time>', 'measured time per step (default 2s)')
    .option('-w, --warmup <time>', 'unrecorded warm-up per step (default 500ms)')
    .option('--warmup-max <time>', WARMUP_MAX_HELP)
    .option('--precision <share>', 'bisection stops when the interval is this narrow (default 0.05)')
    .option('--repeats <n>', 'trials at each end of the final interval (default 3)')
    .option('-c, --connections <n>', 'smallest connection pool (in flight grows with the rate)')
    .option('--max-in-flight <n>', 'bound on requests in flight (default rate × 100 ms)')
    .option('--timeout <time>', 'per-request timeout (default 10s)')
    .option('--url <url>', 'search against an already running target (loopback only unless --allow-remote)')
    .option('--allow-remote', 'allow a --url that is not on loopback')
    .option('--preset <name>', 'target preset')
    .addOption(new Option('--target-env <KEY=VALUE>', 'target environment override, repeatable').argParser(collect))
    .option('--store <kind>', 'target store: memory or postgres')
    .option('--cache <kind>', 'target cache: none, lru, redis or tiered')
    .addOption(new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable').argParser(collect))
    .option('--error-threshold <share>', 'unexpected-status share above which a step is invalid')
    .option('--max-late-share <share>', 'late or dropped share above which a step is invalid')
    .option('--max-pool <n>', 'cap on tokens seeded per step')
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label')
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (o: RawCapacityOptions) => setExit(await capacityCommand(o, io)))
}

function addCompareCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('compare <result>')
    .description('compare a result with a baseline (default reports/baseline.json) and gate on the verdict')
    .option('-b, --baseline <file>', 'baseline result file')
    .option('-o, --out <dir>', "where the reports go (default: the result's folder)")
    .option('--config <file>', 'config file whose gate settings apply (default: authbench.config.* in the working directory)')
    .option('--json', 'print the result with its comparison as JSON on stdout (and nothing else)')
    .action(async (resultPath: string, o: { baseline?: string; out?: string; config?: string; json?: boolean }) => {
      setExit(await compareCommand({
        resultPath,
        ...(o.baseline === undefined ? {} : { baselinePath: o.baseline }),
        ...(o.out === undefined ? {} : { outDir: o.out }),
        ...(o.config === undefined ? {} : { configPath: o.config }),
        ...(o.json === true ? { json: true } : {}),
        stdout: (line) => io.stdout(`${line}\n`),
        stderr: (line) => io.stderr(`${line}\n`)
      }))
    })
}

function addBaselineCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('baseline')
    .description('run the suite (5 trials per scenario, fresh target each); write reports/baseline.json and BASELINE_REPORT.md')
    .addOption(new Option('-s, --scenario <names>', 'scenario(s), repeatable or comma list').argParser(collect))
    .option('-t, --trials <n>', 'trials per scenario (default 5)')
    .option('-d, --duration <time>', 'measured time per trial')
    .option('-w, --warmup <time>', 'unrecorded warm-up before each trial')
    .option('--warmup-max <time>', WARMUP_MAX_HELP)
    .option('-c, --connections <n>', 'closed model: concurrent connections')
    .option('-p, --pipelining <n>', 'closed model: requests in flight per connection')
    .option('-r, --rate <rps>', 'open model at this arrival rate')
    .option('--config <file>', 'config file (default: authbench.config.* in the working directory)')
    .option('--target <name>', "which of the config's targets to start (default: the first)")
    .option('--variant <name>', "one of the target's variants")
    .option('--preset <name>', 'the same as --variant')
    .addOption(new Option('--target-env <KEY=VALUE>', 'target environment override, repeatable').argParser(collect))
    .option('--store <kind>', 'target store: memory or postgres')
    .option('--cache <kind>', 'target cache: none, lru, redis or tiered')
    .option('--no-restart-per-trial', 'one target for all trials')
    .addOption(new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable').argParser(collect))
    .option('--no-calibration', 'skip the raw-HTTP calibration workload')
    .option('--no-progress', 'no progress lines on stderr')
    .option('-o, --out <dir>', 'reports folder; baseline.json goes here (default reports)')
    .option('--report <file>', 'markdown report (default BASELINE_REPORT.md)')
    .action(async (o: RawBaselineOptions) => setExit(await baselineCommand(o, io)))
}

function addAbCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('ab')
    .description('interleaved A/B gate: ABBA/BAAB blocks, fresh target per trial, paired verdict (exit 0 no regression, 1 regression, 2 bad input or invalid)')
    .requiredOption('--a <spec>', "arm A (base): a variant of the target, a JSON file of env overrides, or a git ref")
    .requiredOption('--b <spec>', 'arm B (candidate): same forms')
    .addOption(new Option('--a-env <KEY=VALUE>', 'env override for A, repeatable').argParser(collect))
    .addOption(new Option('--b-env <KEY=VALUE>', 'env override for B, repeatable').argParser(collect))
    .addOption(new Option('-s, --scenario <names>', 'scenario(s), repeatable or comma list').argParser(collect))
    .option('-t, --trials <n>', 'A/B pairs per scenario (default 6, the signed-rank floor)')
    .option('-d, --duration <time>', 'measured time per trial (default 4s)')
    .option('-w, --warmup <time>', 'unrecorded warm-up (default 1s)')
    .option('--warmup-max <time>', WARMUP_MAX_HELP)
    .option('--slot <time>', 'closed model: duet (the default) puts both arms under load at the same time; a time (500ms) alternates the measured time between them in slots this long; 0 runs one trial after the other')
    .option('--budget <time>', 'time budget, e.g. 10m: after a first round of --trials pairs, 3 more pairs at a time for scenarios still undecided (group-sequential, alpha spending)')
    .option('-c, --connections <n>', 'closed model: concurrent connections')
    .option('-r, --rate <rps>', 'open model at this arrival rate')
    .option('--max-in-flight <n>', 'open model: most requests in flight; later sends are dropped and counted')
    .addOption(new Option('--slo <objective>', "objective on arm B's merged figures per scenario, repeatable (p99<20ms, errors<0.1%); a failed one exits 1 and is a junit.xml case").argParser(collect))
    .addOption(new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable').argParser(collect))
    .option('--error-threshold <share>', 'unexpected-status share above which a trial is invalid')
    .option('--max-pool <n>', 'cap on tokens seeded per trial')
    .option('--seed <n>', 'seed of the block order (default 1)')
    .option('--json', 'print result.json with the comparison on stdout (and nothing else; progress stays on stderr)')
    .option('--config <file>', 'config file (default: authbench.config.* in the working directory)')
    .option('--target <name>', "which of the config's targets to start (default: the first)")
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label')
    .option('--no-calibration', 'skip the raw-HTTP calibration workload')
    .option('--profile', 'CPU-profile the target(s) over the measured time only (inspector on loopback); writes profiles/*.cpuprofile and a differential report')
    .option('--profile-interval <us>', 'with --profile: sampling interval in µs (default 1000)')
    .option('--profile-arm <arm>', "with --profile: a, b or both (default); one arm alone measures the profiler's own cost")
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (o: RawAbOptions) => setExit(await abCommand(o, io)))
}

function addPhasesCommand(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('phases')
    .description("run the suite under every preset (baseline, phase1, phase2, phase3) interleaved; write phases.md and phases.html")
    .option('--store <kind>', 'memory (default) or postgres (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)')
    .option('--cache <kind>', 'redis or tiered for the phases that cache (REDIS_URL, default redis://127.0.0.1:6379)')
    .addOption(new Option('-s, --scenario <names>', 'scenario(s), repeatable or comma list').argParser(collect))
    .option('-t, --trials <n>', 'rounds: each runs every scenario under every preset')
    .option('-d, --duration <time>', 'measured time per trial')
    .option('-w, --warmup <time>', 'unrecorded warm-up per trial')
    .option('--warmup-max <time>', WARMUP_MAX_HELP)
    .option('-c, --connections <n>', 'closed model: concurrent connections')
    .addOption(new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable').argParser(collect))
    .option('--error-threshold <share>', 'unexpected-status share above which a trial is invalid')
    .option('--max-pool <n>', 'cap on tokens seeded per trial')
    .option('--seed <n>', 'seed of the preset order per round')
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label')
    .option('--no-calibration', 'skip the raw-HTTP calibration workload')
    .option('--profile', 'CPU-profile the target(s) over the measured time only (inspector on loopback); writes profiles/*.cpuprofile and a differential report')
    .option('--profile-interval <us>', 'with --profile: sampling interval in µs (default 1000)')
    .option('--no-progress', 'no progress lines on stderr')
    .option('--no-pin', 'do not pin target and generator to separate cores')
    .option('--config <file>', 'config file (default: authbench.config.* in the working directory)')
    .option('--target <name>', "which of the config's targets to start (default: the first)")
    .action(async (o: RawPhasesOptions) => setExit(await phasesCommand(o, io)))
}

function addImportK6Command(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('import-k6 <summaries...>')
    .description("import k6 summaries (--summary-export or the machine-readable summary) into a result file that compare reads")
    .requiredOption('-s, --scenario <name>', 'the scenario the k6 script ran')
    .option('--runners', 'files are k6-operator runner summaries; each directory is one distributed run')
    .option('--duration <time>', 'configured duration of each k6 run, when the summary has no clock gauge')
    .option('--rate <rps>', 'open model arrival rate the runs used')
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label')
    .option('--json', 'print the result JSON to stdout (and nothing else)')
    .action(async (files: string[], o: { scenario: string; runners?: boolean; duration?: string; rate?: string; out?: string; label?: string; json?: boolean }) => {
      setExit(await importK6Command(files, {
        scenario: o.scenario,
        mode: o.runners ? 'runners' : 'trials',
        ...(o.duration === undefined ? {} : { durationMs: parseDurationMs('--duration', o.duration, false) }),
        ...(o.rate === undefined ? {} : { rateRps: parseIntOption('--rate', o.rate, 1, 10_000_000), model: 'open' as const }),
        ...(o.out === undefined ? {} : { outDir: o.out }),
        ...(o.label === undefined ? {} : { label: o.label }),
        ...(o.json === true ? { json: true } : {})
      }, io))
    })
}

/** Every command's name and long options, as the CLI declares them (for checks of docs and workflows). */
export function describeCommands(): Map<string, string[]> {
  const program = buildProgram({ stdout: () => undefined, stderr: () => undefined }, () => undefined)
  return new Map(program.commands.map((c) => [c.name(), c.options.flatMap((o) => (o.long === undefined ? [] : [o.long]))]))
}

/**
 * `run --driver k6`: one scenario through k6. Without --url the harness starts the target (as for
 * the other drivers) and stops it afterwards. Without k6 on PATH it says so and exits 2 before
 * starting anything.
 */
async function runWithK6(o: RawRunOptions & { driver?: string }, io: CommandIo): Promise<number> {
  const scenarios = (o.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
  if (scenarios.length !== 1) {
    io.stderr('authbench: --driver k6 runs exactly one --scenario at a time\n')
    return EXIT.USAGE
  }
  try {
    await locateK6(process.env)
  } catch (err) {
    io.stderr(`authbench: ${(err as Error).message}\n`)
    return EXIT.USAGE
  }
  let target: Awaited<ReturnType<typeof startTarget>> | null = null
  if (o.url === undefined) {
    const config = await loadConfig(o.config === undefined ? {} : { configPath: o.config })
    const def = targetByName(config, o.target)
    const variant = o.variant ?? o.preset
    target = await startTarget({ ...targetProcessOptions(def, variant === undefined ? {} : variantEnv(def, variant, o.variant === undefined ? '--preset' : '--variant')), port: 0, pinCpus: 'auto' })
  }
  try {
    return await k6RunCommand({
      scenario: scenarios[0] as Parameters<typeof k6RunCommand>[0]['scenario'],
      url: o.url ?? target!.url,
      ...(o.allowRemote ? { allowRemote: true } : {}),
      ...(o.rate === undefined ? { model: 'closed' as const } : { model: 'open' as const, rateRps: parseIntOption('--rate', o.rate, 1, 10_000_000) }),
      ...(o.connections === undefined ? {} : { vus: parseIntOption('--connections', o.connections, 1, 100_000) }),
      ...(o.duration === undefined ? {} : { durationMs: parseDurationMs('--duration', o.duration, false) }),
      ...(o.trials === undefined ? {} : { trials: parseIntOption('--trials', o.trials, 1, 1000) }),
      ...(o.out === undefined ? {} : { outDir: o.out }),
      ...(o.label === undefined ? {} : { label: o.label }),
      ...(o.json === true ? { json: true } : {})
    }, io)
  } finally {
    await target?.stop()
  }
}

/**
 * Runs the CLI; resolves with the exit code instead of exiting, so tests can call it. With
 * --json, stdout carries one JSON document whatever happens: when a command fails before it
 * printed its result, an `{"error": …}` object with the exit code and the error lines, so a CI
 * step piping stdout into jq gets something it can parse.
 */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const json = argv.slice(2).includes('--json')
  let wroteStdout = false
  const errors: string[] = []
  const tracked: CommandIo = {
    ...io,
    stdout: (text) => {
      if (text !== '') wroteStdout = true
      io.stdout(text)
    },
    stderr: (text) => {
      if (/^(authbench|error)/i.test(text) && errors.length < 20) errors.push(text.trimEnd())
      io.stderr(text)
    }
  }
  const code = await dispatch(argv, tracked)
  if (json && code !== EXIT.OK && !wroteStdout) {
    io.stdout(`${JSON.stringify({ error: { exitCode: code, messages: errors } }, null, 2)}\n`)
  }
  return code
}

async function dispatch(argv: readonly string[], io: CommandIo): Promise<number> {
  let exitCode: number = EXIT.OK
  const program = buildProgram(io, (code) => {
    exitCode = code
  })
  try {
    await program.parseAsync([...argv], { from: 'node' })
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; commander has already printed its own message.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode
      return EXIT.USAGE
    }
    const { message, exitCode } = describeError(err)
    io.stderr(`authbench: ${message}\n`)
    return exitCode
  }
}

/** Entry point: SIGINT aborts the run (a second one exits at once). */
export async function runMain(argv: readonly string[] = process.argv): Promise<never> {
  const controller = new AbortController()
  let interrupts = 0
  // SIGTERM too: a cancelled CI job gets one, and the run must still stop its targets and remove
  // its temporary worktrees (an 'exit' hook removes any left when a second signal quits at once).
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED)
    process.stderr.write(`\nauthbench: ${signal === 'SIGINT' ? 'interrupted' : signal}; stopping (Ctrl-C again to quit at once)\n`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const code = await main(argv, {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    signal: controller.signal
  })
  // Exit explicitly once output is flushed: a leaked socket or timer must never hang the CLI.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
  process.exit(code)
}

const entry = process.argv[1]
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) void runMain()
