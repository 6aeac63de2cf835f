// Where each auth scenario's k6 script lives (scenarios/k6/<name>.ts), for `run --driver k6`.
import { fileURLToPath } from 'node:url'
import type { K6ScriptName } from './k6/scripts.ts'

export function k6Script(name: K6ScriptName): string {
  return fileURLToPath(new URL(`./k6/${name}.ts`, import.meta.url))
}
