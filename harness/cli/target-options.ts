// The command-line options a config brings with it: each target's declared options (`--store`
// for the reference), the target's own word for its variants (`--preset`), and `--max-pool` when a
// scenario consumes seeded items. They are read from the config before the command line is
// parsed, so a project without them never sees them in `--help`, and a typo in one is an
// unknown-option error like any other.
import { type Command, Option } from 'commander'
import { loadConfig, type ResolvedConfig } from '../config.ts'
import { BadOptionError, describeError } from '../errors.ts'

export interface DeclaredOptions {
  /** Each declared option by name: what it means and the values it takes (across the config's targets). */
  options: ReadonlyMap<string, { description: string; values: readonly string[] | null }>
  /** The word a target uses for its variants (`preset`), offered as another name for --variant. */
  variantAlias: string | null
  /** Scenarios that consume seeded items: `--max-pool` is offered only when there are some. */
  consuming: readonly string[]
  /** Why the config could not be read, when it could not (the command itself will say so again). */
  configError: string | null
}

export const NO_DECLARED_OPTIONS: DeclaredOptions = Object.freeze({ options: new Map(), variantAlias: null, consuming: [], configError: null })

/** The value of `--config` on a command line, if any (`--config f` or `--config=f`). */
function configArgument(argv: readonly string[]): string | undefined {
  for (const [i, arg] of argv.entries()) {
    if (arg === '--config') return argv[i + 1]
    if (arg.startsWith('--config=')) return arg.slice('--config='.length)
  }
  return undefined
}

/** What the config declares; a config that cannot be loaded declares nothing. */
export async function declaredOptions(argv: readonly string[], cwd = process.cwd()): Promise<DeclaredOptions> {
  const configPath = configArgument(argv)
  let config: ResolvedConfig
  try {
    config = await loadConfig({ cwd, ...(configPath === undefined ? {} : { configPath }) })
  } catch (error) {
    return { ...NO_DECLARED_OPTIONS, configError: describeError(error).message }
  }
  return declaredBy(config)
}

export function declaredBy(config: Pick<ResolvedConfig, 'targets' | 'scenarios'>): DeclaredOptions {
  const options = new Map<string, { description: string; values: readonly string[] | null }>()
  for (const target of config.targets) {
    for (const [name, option] of Object.entries(target.options ?? {})) {
      const seen = options.get(name)
      const values = seen === undefined ? (option.values ?? null) : seen.values === null || option.values === undefined ? null : [...new Set([...seen.values, ...option.values])]
      options.set(name, { description: seen?.description ?? option.description, values })
    }
  }
  const variantAlias = config.targets.find((t) => t.variantAlias !== undefined)?.variantAlias ?? null
  return { options, variantAlias, consuming: config.scenarios.filter((s) => s.consumes).map((s) => s.name), configError: null }
}

/**
 * Adds the declared options to a command: the target's options always, the variant alias where
 * the command has --variant, --max-pool where it seeds.
 */
export function addDeclaredOptions(command: Command, declared: DeclaredOptions, what: { variant: boolean; maxPool: string | null }): Command {
  if (what.variant && declared.variantAlias !== null) command.option(`--${declared.variantAlias} <name>`, `the same as --variant (the target's word for its variants)`)
  for (const [name, option] of declared.options) {
    command.addOption(new Option(`--${name} <value>`, `${option.description}${option.values === null ? '' : ` (${option.values.join(', ')})`}; declared by the target`))
  }
  if (what.maxPool !== null && declared.consuming.length > 0) {
    command.option('--max-pool <n>', `${what.maxPool} by the scenarios that consume them (${declared.consuming.join(', ')}); default 200000`)
  }
  return command
}

const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * What commander parsed of the declared options, as the commands take them: `targetOptions` by
 * declared name, and the variant alias folded into `variant`.
 */
export function takeDeclaredOptions<T extends object>(parsed: T, declared: DeclaredOptions): T & { targetOptions?: Record<string, string>; variant?: string } {
  const values = parsed as Record<string, unknown>
  const targetOptions: Record<string, string> = {}
  for (const name of declared.options.keys()) {
    const value = values[camel(name)]
    if (typeof value === 'string') targetOptions[name] = value
  }
  const out: T & { targetOptions?: Record<string, string>; variant?: string } = { ...parsed, ...(Object.keys(targetOptions).length === 0 ? {} : { targetOptions }) }
  const alias = declared.variantAlias === null ? undefined : values[camel(declared.variantAlias)]
  if (typeof alias === 'string') {
    const variant = values.variant
    if (typeof variant === 'string' && variant !== alias) throw new BadOptionError(`--${declared.variantAlias} ${alias} and --variant ${variant} name two variants; give one`)
    out.variant = alias
  }
  return out
}
