// `authbench init`: a starting config and one scenario for a service, from the URL of one already
// running or from the command that starts it. The files are TypeScript ES modules either way; in a
// package that is not "type": "module" (`npm init -y` writes "commonjs") they are written as .mts,
// which Node and tsx load as ES modules whatever the package says, so `import … from 'authbench'`
// (an ES module package) works without touching the user's package.json. Nothing is overwritten
// unless --force: an existing config or scenario file stops init naming it (exit 2).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { CONFIG_FILES } from '../../config.ts'
import { BadOptionError, EXIT } from '../../errors.ts'
import type { CommandIo } from '../io.ts'

export interface InitOptions {
  url?: string
  start?: string
  ready?: string
  force?: boolean
  /** Where to write; default the working directory. */
  dir?: string
}

interface Plan {
  dir: string
  ext: '.ts' | '.mts'
  configFile: string
  scenarioFile: string
  scenarioName: string
  path: string
  files: Map<string, string>
}

const SHELL_CHARS = /[|&;<>()$`\\"'*?[\]#~=%{}\n]/

/** A start command as the target's argv: split on spaces, or run through sh when it is a shell line. */
export function startArgv(line: string): { command: string; args: string[] } {
  const trimmed = line.trim()
  if (trimmed === '') throw new BadOptionError('--start: give the command that starts the service, e.g. --start "node server.js"')
  if (SHELL_CHARS.test(trimmed)) return { command: 'sh', args: ['-c', trimmed] }
  const [command, ...args] = trimmed.split(/\s+/)
  return { command: command as string, args }
}

function packageInfo(dir: string): { esm: boolean; name: string } {
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown; name?: unknown }
    const name = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9._-]/g, '-') : ''
    return { esm: pkg.type === 'module', name: name === '' ? 'service' : name.slice(0, 64) }
  } catch {
    return { esm: false, name: 'service' }
  }
}

function checkOptions(o: InitOptions): string {
  if ((o.url === undefined) === (o.start === undefined))
    throw new BadOptionError('init: give the URL of a running service (--url http://127.0.0.1:8080) or the command that starts it (--start "node server.js"), one of the two')
  if (o.url !== undefined) {
    let url: URL
    try {
      url = new URL(o.url)
    } catch {
      throw new BadOptionError(`--url ${o.url}: not a URL (e.g. http://127.0.0.1:8080)`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadOptionError(`--url ${o.url}: must be http: or https:`)
  }
  const ready = o.ready ?? (o.url === undefined ? '/' : new URL(o.url as string).pathname)
  if (!ready.startsWith('/')) throw new BadOptionError(`--ready ${ready}: a path starting with /, e.g. /health`)
  return ready
}

const HEADER = (what: string): string =>
  `// ${what}, written by \`authbench init\`; edit it freely.\n// Everything a config and a scenario can declare: node_modules/authbench/docs/configuration.md\n`

function configText(o: InitOptions, plan: Plan, name: string): string {
  const scenarios = `  scenarios: ['./scenarios/${plan.scenarioName}${plan.ext}'],\n  load: { durationMs: 3_000, warmupMs: 1_000, trials: 3 }\n`
  if (o.start === undefined)
    return `${HEADER('authbench config: a service you start yourself, driven with `npx authbench run --url <url>`')}import { defineConfig } from 'authbench'\n\nexport default defineConfig({\n${scenarios}})\n`
  const argv = startArgv(o.start)
  return `${HEADER('authbench config: how to start the service, when it is ready, and its scenarios')}import { defineConfig, defineTarget } from 'authbench'

export default defineConfig({
  targets: [
    defineTarget({
      name: ${JSON.stringify(name)},
      // The harness gives the service a free port in PORT (and HOST) and stops it at the end.
      start: { command: ${JSON.stringify(argv.command)}, args: ${JSON.stringify(argv.args)} },
      // A GET that answers 2xx once the service is ready.
      readiness: { path: ${JSON.stringify(plan.path)}, timeoutMs: 10_000 },
      // For \`authbench ab\` between git refs, run in each ref's checkout. Runtime dependencies
      // only: authbench itself runs from this checkout. Drop --omit=dev if the build needs them.
      install: 'npm ci --omit=dev --no-audit --no-fund'
    })
  ],
${scenarios}})
`
}

function scenarioText(plan: Plan): string {
  return `${HEADER(`One scenario: GET ${plan.path}`)}import { defineScenario } from 'authbench'

export default defineScenario({
  name: ${JSON.stringify(plan.scenarioName)},
  description: ${JSON.stringify(`GET ${plan.path}`)},
  request: { method: 'GET', path: ${JSON.stringify(plan.path)}, expectedStatuses: [200] }
})
`
}

function makePlan(o: InitOptions): Plan {
  const ready = checkOptions(o)
  const dir = path.resolve(o.dir ?? '.')
  const pkg = packageInfo(dir)
  const ext = pkg.esm ? '.ts' : '.mts'
  const scenarioName = ready === '/' ? 'root' : (ready.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'root').replace(/^[^A-Za-z]/, 's$&').slice(0, 64)
  const plan: Plan = { dir, ext, configFile: `authbench.config${ext}`, scenarioFile: path.join('scenarios', `${scenarioName}${ext}`), scenarioName, path: ready, files: new Map() }
  plan.files.set(plan.configFile, configText(o, plan, pkg.name))
  plan.files.set(plan.scenarioFile, scenarioText(plan))
  return plan
}

/** Writes the config and the scenario; refuses to replace any config or the scenario file unless --force. */
export async function initCommand(o: InitOptions, io: CommandIo): Promise<number> {
  const plan = makePlan(o)
  // Any config the loader would find first, or instead, is in the way too.
  const inTheWay = [...new Set([...CONFIG_FILES, ...plan.files.keys()])].filter((f) => existsSync(path.join(plan.dir, f)))
  if (inTheWay.length > 0 && o.force !== true)
    throw new BadOptionError(`init: ${inTheWay.join(', ')} already exist${inTheWay.length === 1 ? 's' : ''} in ${plan.dir}; --force replaces them`)
  for (const file of inTheWay) rmSync(path.join(plan.dir, file), { force: true })
  for (const [file, text] of plan.files) {
    mkdirSync(path.dirname(path.join(plan.dir, file)), { recursive: true })
    writeFileSync(path.join(plan.dir, file), text)
    io.stdout(`wrote ${file}\n`)
  }
  if (plan.ext === '.mts') io.stdout(`(.mts: this package is not "type": "module", and .mts files load as ES modules in any package)\n`)
  io.stdout(o.url === undefined ? 'next: npx authbench run\n' : `next: npx authbench run --url ${o.url}\n`)
  return EXIT.OK
}
