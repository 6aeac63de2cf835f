// The authbench command line: declares commands and options, maps every error to an exit code
// (2 for anything the user can fix on the command line) and hands off to harness/cli/commands/*.
// Each command is `async (options, io) => exitCode`; this file holds no benchmarking logic.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { BadOptionError, EXIT, describeError, setShowStacks } from '../errors.ts'
import { exitCodeFor } from '../exit-code.ts'
import { compareCommand } from './commands/compare.ts'
import { capacityCommand, type RawCapacityOptions } from './commands/capacity.ts'
import { abCommand, type RawAbOptions } from './commands/ab.ts'
import { baselineCommand, type RawBaselineOptions } from './commands/baseline.ts'
import { variantsCommand, type RawVariantsOptions } from './commands/variants.ts'
import { importK6Command, k6RunCommand, locateK6 } from './commands/k6.ts'
import { parseDurationMs, parseIntOption, type RawRunOptions } from './commands/run-options.ts'
import { startTarget, targetProcessOptions } from '../engine/target-process.ts'
import { registeredDrivers } from '../engine/drivers/index.ts'
import { trustUnverifiedCertificates } from '../engine/tls.ts'
import { loadConfig, targetByName, targetOptionsEnv, variantEnv } from '../config.ts'
import { runCommand } from './commands/run.ts'
import { initCommand, type InitOptions } from './commands/init.ts'
import type { RawProfileOptions } from '../profile/session.ts'
import type { CommandIo } from './io.ts'
import { NO_DECLARED_OPTIONS, addDeclaredOptions, declaredOptions, takeDeclaredOptions, type DeclaredOptions } from './target-options.ts'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

/** Every load command's --warmup-max: the engine's warm-up until steady (harness/engine/warmup.ts). */
const WARMUP_MAX_HELP =
  'the longest warm-up: it runs --warmup, then on until the cost per request stops falling (default 10s, or 10× --warmup when less); the same as --warmup for a fixed warm-up'

type SetExit = (code: number) => void

/** The installed package's own version (package.json sits two folders above this file, shipped or not). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : 'unknown'
}

/** Options several commands share, declared once each. */
const shared = {
  scenario: (what = 'scenario(s) of the config, repeatable or comma list (default: all)') => new Option('-s, --scenario <names>', what).argParser(collect),
  config: () => new Option('--config <file>', 'config file (default: authbench.config.ts, .mjs or .json in the working directory)'),
  target: () => new Option('--target <name>', "which of the config's targets to start (default: the first)"),
  variant: () => new Option('--variant <name>', "one of the target's variants (named environment sets)"),
  targetEnv: () => new Option('--target-env <KEY=VALUE>', 'target environment override, repeatable').argParser(collect),
  scenarioParam: () => new Option('--scenario-param <scenario.key=value>', 'scenario parameter, repeatable (e.g. get.path=/items)').argParser(collect),
  warmupMax: () => new Option('--warmup-max <time>', WARMUP_MAX_HELP),
  connections: (what = 'closed model: concurrent connections; open model: pool size') => new Option('-c, --connections <n>', what),
  errorThreshold: (what = 'unexpected-status share above which a trial is invalid (default 0.01)') => new Option('--error-threshold <share>', what),
  slo: (what: string) => new Option('--slo <objective>', what).argParser(collect),
  url: (what = 'run against an already running target (loopback only unless --allow-remote)') => [
    new Option('--url <url>', what),
    new Option('--allow-remote', 'allow a --url that is not on loopback')
  ],
  output: (what = 'reports folder (default reports)') => [new Option('-o, --out <dir>', what), new Option('-l, --label <label>', 'run label, part of the result folder name')],
  profile: () => [
    new Option('--profile', 'CPU-profile the target(s) over the measured time only (inspector on loopback); writes profiles/*.cpuprofile and a differential report'),
    new Option('--profile-interval <us>', 'with --profile: sampling interval in µs (default 1000)')
  ],
  noCalibration: () => new Option('--no-calibration', "skip the calibration workload (raw GETs of the target's readiness path)"),
  noProgress: () => new Option('--no-progress', 'no progress lines on stderr'),
  insecure: () => new Option('--insecure', "HTTPS targets: accept a certificate that is not verified (a self-signed one); as curl's -k"),
  journeys: () => [
    new Option('--vus <n>', 'journeys: virtual users (closed model), another name for --connections'),
    new Option('--max-vus <n>', 'journeys, open model: most iterations at once; one that cannot start in time is dropped and counted (another name for --max-in-flight)'),
    new Option(
      '--stages <list>',
      'ramp, e.g. 30s:10,1m:50,20s:0: each stage moves linearly to its level (VUs, or with --rate iterations or requests per second) from --vus/--rate; sets the measured time'
    )
  ]
}

function addAll(command: Command, options: ReadonlyArray<Option | readonly Option[]>): Command {
  for (const o of options.flat()) command.addOption(o)
  return command
}

/** The whole command line: one step per command, each declaring its options and action. */
function buildProgram(io: CommandIo, setExit: SetExit, declared: DeclaredOptions = NO_DECLARED_OPTIONS): Command {
  const program = new Command('authbench')
    .description('Load-testing and benchmarking harness for HTTP services, configured by authbench.config.ts')
    .version(packageVersion(), '-V, --version', 'print the version of authbench')
    .option('--debug', 'print the stack of an unexpected error')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
  program.hook('preAction', (_program, action) => {
    setShowStacks(program.opts<{ debug?: boolean }>().debug === true)
    // --insecure is every connection's rule, so it is set once, before anything connects.
    trustUnverifiedCertificates(action.opts<{ insecure?: boolean }>().insecure === true)
  })

  addRunCommand(program, io, setExit, declared)
  addCapacityCommand(program, io, setExit, declared)
  addCompareCommand(program, io, setExit)
  addBaselineCommand(program, io, setExit, declared)
  addAbCommand(program, io, setExit, declared)
  addVariantsCommand(program, io, setExit, declared)
  addImportK6Command(program, io, setExit)
  addInitCommand(program, io, setExit)
  return program
}

function addInitCommand(program: Command, io: CommandIo, setExit: SetExit): void {
  program
    .command('init')
    .description('write a starting authbench.config.ts (.mts in a CommonJS package) and one scenario, for a running service (--url) or a start command (--start)')
    .option('--url <url>', 'a service you start yourself, e.g. http://127.0.0.1:8080')
    .option('--start <command>', 'the command that starts the service, e.g. "node server.js" (it gets its port in PORT)')
    .option('--ready <path>', 'a GET path that answers 2xx once the service is ready, and what the scenario requests (default / or the --url path)')
    .option('--force', 'replace an existing config or scenario file')
    .action(async (o: InitOptions) => setExit(await initCommand(o, io)))
}

function addRunCommand(program: Command, io: CommandIo, setExit: SetExit, declared: DeclaredOptions): void {
  const command = program.command('run').description('drive scenarios against the target and write reports/<timestamp>-<label>/result.json')
  addAll(command, [
    shared.scenario(),
    new Option('-d, --duration <time>', 'measured time per trial, e.g. 500ms, 5s, 1m (default 4s)'),
    new Option('-w, --warmup <time>', 'unrecorded warm-up before each trial (default 1s)'),
    shared.warmupMax(),
    new Option('-t, --trials <n>', 'trials per scenario (default 3, the fewest compare accepts)'),
    shared.connections(),
    new Option('-p, --pipelining <n>', 'closed model: requests in flight per connection (default 1)'),
    new Option('-r, --rate <rps>', 'switch to the open model at this constant arrival rate (req/s)'),
    new Option('--timeout <time>', 'per-request timeout (default 10s)'),
    shared.url(),
    shared.config(),
    shared.target(),
    shared.variant(),
    shared.targetEnv(),
    new Option('--restart-per-trial', 'start a fresh target for every trial'),
    shared.output(),
    new Option('--json', 'print the result JSON to stdout (no progress)'),
    shared.scenarioParam(),
    shared.errorThreshold(),
    new Option('--max-late-share <share>', 'open model: late-send share above which a trial is invalid (default 0.05)'),
    new Option(
      '--max-in-flight <n>',
      'open model: most requests in flight (k6 maxVUs); a send that cannot start in time is dropped and counted (default rate × 100 ms, at least --connections)'
    ),
    shared.slo(
      "service-level objective on each scenario's merged figures, repeatable: p99<20ms, p95<=100ms, errors<0.1%, throughput>=1000; a failed one exits 1 and is a junit.xml case"
    ),
    shared.noCalibration(),
    shared.profile(),
    shared.noProgress(),
    shared.insecure(),
    shared.journeys(),
    new Option('--compare', 'compare with the baseline straight after the run (exit 1 on a regression); 5 trials by default'),
    new Option('--baseline <file>', 'baseline for --compare (default reports/baseline.json)'),
    new Option(
      '--driver <name>',
      `load generator: ${registeredDrivers()
        .map((d) => `${d.name} (${d.model})`)
        .join(', ')}, or k6 (needs k6 >= 0.57 on PATH); default: the one registered for the load model`
    )
  ])
  addDeclaredOptions(command, declared, { variant: true, maxPool: 'cap on items seeded per trial' })
  command.action(async (parsed: RawRunOptions & { driver?: string }) => {
    const options = takeDeclaredOptions(parsed, declared)
    if (options.driver === 'k6') return setExit(await runWithK6(options, io))
    const model = options.driver === undefined ? null : registeredDrivers().find((d) => d.name === options.driver)?.model
    if (model === undefined)
      throw new BadOptionError(
        `--driver ${options.driver}: no such driver (registered: ${registeredDrivers()
          .map((d) => d.name)
          .join(', ')}, and k6)`
      )
    if (model === 'open' && options.rate === undefined) throw new BadOptionError(`--driver ${options.driver} drives the open model: give --rate <rps>`)
    if (model === 'closed' && options.rate !== undefined)
      throw new BadOptionError(`--driver ${options.driver} drives the closed model: drop --rate, or pick the open model's driver`)
    setExit(await runCommand(options, io))
  })
}

function addCapacityCommand(program: Command, io: CommandIo, setExit: SetExit, declared: DeclaredOptions): void {
  const command = program
    .command('capacity')
    .description(
      'find the highest offered rate (open model) each scenario sustains under the --slo objectives: coarse steps, bisection, repeats near the knee; writes capacity.json, capacity.md and report.html (exit 1 below --min-rate)'
    )
  addAll(command, [
    shared.scenario(),
    shared.slo('objective each step must meet, repeatable: p99<20ms, errors<0.1%, …'),
    new Option('--min-rate <rps>', 'exit 1 when a capacity is below this'),
    new Option('--start-rate <rps>', 'first coarse step (default 500; doubles until a step fails)'),
    new Option('--max-rate <rps>', 'highest rate tried (default 200000)'),
    new Option('--step-duration <time>', 'measured time per step (default 2s)'),
    new Option('-w, --warmup <time>', 'unrecorded warm-up per step (default 500ms)'),
    shared.warmupMax(),
    new Option('--precision <share>', 'bisection stops when the interval is this narrow (default 0.05)'),
    new Option('--repeats <n>', 'trials at each end of the final interval (default 3)'),
    shared.connections('smallest connection pool (in flight grows with the rate)'),
    new Option('--max-in-flight <n>', 'bound on requests in flight (default rate × 100 ms)'),
    new Option('--timeout <time>', 'per-request timeout (default 10s)'),
    shared.url('search against an already running target (loopback only unless --allow-remote)'),
    shared.config(),
    shared.target(),
    shared.variant(),
    shared.targetEnv(),
    shared.scenarioParam(),
    shared.errorThreshold('unexpected-status share above which a step is invalid'),
    new Option('--max-late-share <share>', 'late or dropped share above which a step is invalid'),
    shared.output(),
    shared.noProgress(),
    shared.insecure(),
    new Option('--max-vus <n>', 'journeys: most iterations at once (another name for --max-in-flight)')
  ])
  addDeclaredOptions(command, declared, { variant: true, maxPool: 'cap on items seeded per step' })
  command.action(async (o: RawCapacityOptions) => setExit(await capacityCommand(takeDeclaredOptions(o, declared), io)))
}

function addCompareCommand(program: Command, io: CommandIo, setExit: SetExit): void {
  program
    .command('compare <result>')
    .description('compare a result with a baseline (default reports/baseline.json) and gate on the verdict')
    .option('-b, --baseline <file>', 'baseline result file')
    .option('-o, --out <dir>', "where the reports go (default: a new <timestamp>-compare folder inside the result's; the result read is never rewritten)")
    .addOption(shared.config())
    .option('--json', 'print the result with its comparison as JSON on stdout (and nothing else)')
    .action(async (resultPath: string, o: { baseline?: string; out?: string; config?: string; json?: boolean }) => {
      setExit(
        await compareCommand({
          resultPath,
          ...(o.baseline === undefined ? {} : { baselinePath: o.baseline }),
          ...(o.out === undefined ? {} : { outDir: o.out }),
          ...(o.config === undefined ? {} : { configPath: o.config }),
          ...(o.json === true ? { json: true } : {}),
          stdout: (line) => io.stdout(`${line}\n`),
          stderr: (line) => io.stderr(`${line}\n`)
        })
      )
    })
}

function addBaselineCommand(program: Command, io: CommandIo, setExit: SetExit, declared: DeclaredOptions): void {
  const command = program.command('baseline').description('run the suite (5 trials per scenario, fresh target each); write reports/baseline.json and BASELINE_REPORT.md')
  addAll(command, [
    shared.scenario(),
    new Option('-t, --trials <n>', 'trials per scenario (default 5)'),
    new Option('-d, --duration <time>', 'measured time per trial'),
    new Option('-w, --warmup <time>', 'unrecorded warm-up before each trial'),
    shared.warmupMax(),
    shared.connections('closed model: concurrent connections'),
    new Option('-p, --pipelining <n>', 'closed model: requests in flight per connection'),
    new Option('-r, --rate <rps>', 'open model at this arrival rate'),
    shared.config(),
    shared.target(),
    shared.variant(),
    shared.targetEnv(),
    new Option('--no-restart-per-trial', 'one target for all trials'),
    shared.scenarioParam(),
    shared.noCalibration(),
    shared.noProgress(),
    shared.insecure(),
    shared.journeys(),
    new Option('-o, --out <dir>', 'reports folder; baseline.json goes here (default reports)'),
    new Option('--report <file>', 'markdown report (default BASELINE_REPORT.md)')
  ])
  addDeclaredOptions(command, declared, { variant: true, maxPool: 'cap on items seeded per trial' })
  command.action(async (o: RawBaselineOptions) => setExit(await baselineCommand(takeDeclaredOptions(o, declared), io)))
}

function addAbCommand(program: Command, io: CommandIo, setExit: SetExit, declared: DeclaredOptions): void {
  const command = program
    .command('ab')
    .description('interleaved A/B gate: ABBA/BAAB blocks, fresh target per trial, paired verdict (exit 0 no regression, 1 regression, 2 bad input or invalid)')
    .requiredOption('--a <spec>', 'arm A (base): a variant of the target, a JSON file of env overrides, or a git ref')
    .requiredOption('--b <spec>', 'arm B (candidate): same forms')
  addAll(command, [
    new Option('--a-env <KEY=VALUE>', 'env override for A, repeatable').argParser(collect),
    new Option('--b-env <KEY=VALUE>', 'env override for B, repeatable').argParser(collect),
    shared.scenario(),
    new Option('-t, --trials <n>', 'A/B pairs per scenario (default 6, the signed-rank floor)'),
    new Option('-d, --duration <time>', 'measured time per trial (default 4s)'),
    new Option('-w, --warmup <time>', 'unrecorded warm-up (default 1s)'),
    shared.warmupMax(),
    new Option(
      '--slot <time>',
      'closed model: duet (the default) puts both arms under load at the same time; a time (500ms) alternates the measured time between them in slots this long; 0 runs one trial after the other'
    ),
    new Option(
      '--budget <time>',
      'time budget, e.g. 10m: after a first round of --trials pairs, 3 more pairs at a time for scenarios still undecided (group-sequential, alpha spending)'
    ),
    shared.connections('closed model: concurrent connections'),
    new Option('-r, --rate <rps>', 'open model at this arrival rate'),
    new Option('--max-in-flight <n>', 'open model: most requests in flight; later sends are dropped and counted'),
    shared.slo("objective on arm B's merged figures per scenario, repeatable (p99<20ms, errors<0.1%); a failed one exits 1 and is a junit.xml case"),
    shared.scenarioParam(),
    shared.errorThreshold(),
    new Option('--seed <n>', 'seed of the block order (default 1)'),
    new Option('--json', 'print result.json with the comparison on stdout (and nothing else; progress stays on stderr)'),
    shared.config(),
    shared.target(),
    shared.output(),
    shared.noCalibration(),
    shared.profile(),
    new Option('--profile-arm <arm>', "with --profile: a, b or both (default); one arm alone measures the profiler's own cost"),
    shared.noProgress(),
    shared.insecure(),
    shared.journeys()
  ])
  addDeclaredOptions(command, { ...declared, options: new Map() }, { variant: false, maxPool: 'cap on items seeded per trial' })
  command.action(async (o: RawAbOptions) => setExit(await abCommand(o, io)))
}

function addVariantsCommand(program: Command, io: CommandIo, setExit: SetExit, declared: DeclaredOptions): void {
  const command = program
    .command('variants')
    .alias('phases')
    .description('run the suite under every variant of the target, interleaved in randomised rounds with a fresh target per trial; write variants.md and variants.html')
  addAll(command, [
    shared.scenario("scenario(s), repeatable or comma list (default: the target report's, else all)"),
    new Option('-t, --trials <n>', 'rounds: each runs every scenario under every variant'),
    new Option('-d, --duration <time>', 'measured time per trial'),
    new Option('-w, --warmup <time>', 'unrecorded warm-up per trial'),
    shared.warmupMax(),
    shared.connections('closed model: concurrent connections'),
    shared.scenarioParam(),
    shared.errorThreshold(),
    new Option('--seed <n>', 'seed of the variant order per round'),
    shared.output(),
    shared.noCalibration(),
    shared.profile(),
    shared.noProgress(),
    shared.insecure(),
    shared.journeys(),
    new Option('--no-pin', 'do not pin target and generator to separate cores'),
    shared.config(),
    shared.target()
  ])
  addDeclaredOptions(command, declared, { variant: false, maxPool: 'cap on items seeded per trial' })
  command.action(async (o: RawVariantsOptions) => setExit(await variantsCommand(takeDeclaredOptions(o, declared), io)))
}

function addImportK6Command(program: Command, io: CommandIo, setExit: SetExit): void {
  program
    .command('import-k6 <summaries...>')
    .description('import k6 summaries (--summary-export or the machine-readable summary) into a result file that compare reads')
    .requiredOption('-s, --scenario <name>', 'the scenario the k6 script ran')
    .option('--runners', 'files are k6-operator runner summaries; each directory is one distributed run')
    .option('--duration <time>', 'configured duration of each k6 run, when the summary has no clock gauge')
    .option('--rate <rps>', 'open model arrival rate the runs used')
    .option('-o, --out <dir>', 'reports folder (default reports)')
    .option('-l, --label <label>', 'run label')
    .option('--json', 'print the result JSON to stdout (and nothing else)')
    .action(async (files: string[], o: { scenario: string; runners?: boolean; duration?: string; rate?: string; out?: string; label?: string; json?: boolean }) => {
      setExit(
        await importK6Command(
          files,
          {
            scenario: o.scenario,
            mode: o.runners ? 'runners' : 'trials',
            ...(o.duration === undefined ? {} : { durationMs: parseDurationMs('--duration', o.duration, false) }),
            ...(o.rate === undefined ? {} : { rateRps: parseIntOption('--rate', o.rate, 1, 10_000_000), model: 'open' as const }),
            ...(o.out === undefined ? {} : { outDir: o.out }),
            ...(o.label === undefined ? {} : { label: o.label }),
            ...(o.json === true ? { json: true } : {})
          },
          io
        )
      )
    })
}

/** Every command's name and long options, as the CLI declares them (for checks of docs and workflows). */
export function describeCommands(declared: DeclaredOptions = NO_DECLARED_OPTIONS): Map<string, string[]> {
  const program = buildProgram({ stdout: () => undefined, stderr: () => undefined }, () => undefined, declared)
  return new Map(program.commands.map((c) => [c.name(), c.options.flatMap((o) => (o.long === undefined ? [] : [o.long]))]))
}

/**
 * `run --driver k6`: one scenario through k6. Without --url the harness starts the target (as for
 * the other drivers) and stops it afterwards. Without k6 on PATH it says so and exits 2 before
 * starting anything.
 */
async function runWithK6(o: RawRunOptions & RawProfileOptions, io: CommandIo): Promise<number> {
  if (o.profile === true) throw new BadOptionError('--profile profiles a Node target the harness starts; it does not apply to --driver k6')
  const scenarios = (o.scenario ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
  if (scenarios.length !== 1) throw new BadOptionError('--driver k6 runs exactly one --scenario at a time')
  await locateK6(process.env)
  let target: Awaited<ReturnType<typeof startTarget>> | null = null
  if (o.url === undefined) {
    const config = await loadConfig(o.config === undefined ? {} : { configPath: o.config })
    const def = targetByName(config, o.target)
    const env = { ...(o.variant === undefined ? {} : variantEnv(def, o.variant)), ...targetOptionsEnv(def, o.targetOptions ?? {}) }
    target = await startTarget({ ...targetProcessOptions(def, env), port: 0, pinCpus: 'auto' })
  }
  try {
    return await k6RunCommand(
      {
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
      },
      io
    )
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
  const declared = await declaredOptions(argv.slice(2))
  const program = buildProgram(
    io,
    (code) => {
      exitCode = code
    },
    declared
  )
  try {
    await program.parseAsync([...argv], { from: 'node' })
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; commander has already printed its own message.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode
      // An option the config would have declared, had it loaded, is "unknown": say why.
      if (err.code === 'commander.unknownOption' && declared.configError !== null)
        io.stderr(`authbench: (the config could not be loaded, so its targets' options are not offered: ${declared.configError})\n`)
      return EXIT.USAGE
    }
    io.stderr(`authbench: ${describeError(err).message}\n`)
    return exitCodeFor({ error: err })
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
  // Last line of defence: an error thrown where nothing awaits it (a callback of a user's scenario
  // or driver) would make Node exit 1, which CI reads as "regression". It exits 2, in one line.
  const onUncaught = (err: unknown): void => {
    process.stderr.write(`authbench: ${describeError(err).message}\n`)
    process.exit(EXIT.USAGE)
  }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
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
