// The GitHub Actions workflow people copy (examples/github-actions/perf-gate.yml). No GitHub runner
// exists here, so this checks what can be checked without one: the YAML parses, it runs on pull
// requests with full history, it gates with `authbench ab` between the base branch and HEAD,
// uploads the three reports, fails the job on a non-zero exit, and every command in every `run:`
// step exists: authbench subcommands and their options in the CLI, npm scripts in package.json.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { describeCommands } from '../../harness/cli/cli.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WORKFLOW = 'examples/github-actions/perf-gate.yml'

interface Step {
  name?: string
  id?: string
  uses?: string
  run?: string
  if?: string
  with?: Record<string, unknown>
}
interface Workflow {
  on: Record<string, unknown>
  jobs: Record<string, { 'runs-on': string; steps: Step[] }>
}

const workflow = parse(readFileSync(new URL(`../../${WORKFLOW}`, import.meta.url), 'utf8')) as Workflow
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps)
const packageJson = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> }

// Shell words of a line; GitHub expressions become one placeholder word.
function words(line: string): string[] {
  const plain = line.replace(/\$\{\{[^}]*\}\}/g, 'EXPR')
  return [...plain.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

// What a run: step may call besides npm/npx: shell keywords and builtins only.
const SHELL = new Set(['set', 'echo', 'if', 'then', 'else', 'fi', 'exit', '[', 'test', 'cat'])

describe(WORKFLOW, () => {
  it('runs on pull requests and checks out the whole history, so both refs exist', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request'])
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'))
    expect(checkout?.with?.['fetch-depth']).toBe(0)
  })

  it('gates with authbench ab from the base branch to HEAD, keeping the exit code for the last step', () => {
    const gate = steps.find((s) => s.run?.includes('authbench ab'))
    expect(gate?.run).toContain('npx authbench ab --a "origin/${{ github.base_ref }}" --b HEAD')
    expect(gate?.id).toBe('gate')
    const fail = steps.at(-1) as Step
    expect(fail.if).toBe("steps.gate.outputs.exit-code != '0'")
    expect(fail.run).toMatch(/exit 1\s*$/)
    expect(fail.run).toContain('= "1"')
  })

  it('uploads report.html, junit.xml and result.json whatever the verdict', () => {
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload?.if).toBe('always()')
    const paths = String(upload?.with?.path).trim().split('\n')
    for (const file of ['report.html', 'junit.xml', 'result.json']) expect(paths.some((p) => p.endsWith(`/${file}`) && p.startsWith('perf-reports/'))).toBe(true)
    expect(steps.find((s) => s.id === 'gate')?.run).toContain('--out perf-reports')
  })

  it('every run: step names commands that exist: authbench subcommands and options, npm scripts', () => {
    const commands = describeCommands()
    expect(Object.keys(packageJson.bin)).toContain('authbench')
    const runSteps = steps.filter((s) => s.run !== undefined)
    expect(runSteps.length).toBeGreaterThanOrEqual(3)
    let authbenchCalls = 0
    for (const step of runSteps) {
      for (const line of (step.run as string)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))) {
        const [first, ...rest] = words(line)
        if (first === 'npx') {
          expect(rest[0], line).toBe('authbench')
          const [sub, ...args] = rest.slice(1)
          expect([...commands.keys()], line).toContain(sub)
          for (const arg of args.filter((a) => a.startsWith('--'))) expect(commands.get(sub as string), `${line}: ${arg}`).toContain(arg.split('=')[0])
          authbenchCalls++
        } else if (first === 'npm') {
          if (rest[0] === 'run') expect(Object.keys(packageJson.scripts), line).toContain(rest[1])
          else expect(['ci', 'install', 'test'], line).toContain(rest[0])
        } else {
          expect(SHELL.has(first as string), `unknown command in a run: step: ${line}`).toBe(true)
        }
      }
    }
    expect(authbenchCalls).toBe(1)
  })
})
