// Parsing of `--scenario-param` values, shared by the scenarios so every bad value is named the same way.
import { ScenarioParamError } from './errors.ts'
import type { ScenarioParams } from './types.ts'

export function checkKnown(scenario: string, params: ScenarioParams, known: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(params)) {
    if (!(key in known)) {
      const names = Object.keys(known)
      throw new ScenarioParamError(scenario, key, `unknown parameter (known: ${names.length > 0 ? names.join(', ') : 'none'})`)
    }
  }
}

export function shareParam(scenario: string, params: ScenarioParams, name: string, fallback: number): number {
  const raw = params[name]
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) throw new ScenarioParamError(scenario, name, `must be a number from 0 to 1; got "${raw}"`)
  return v
}

export function intParam(scenario: string, params: ScenarioParams, name: string, fallback: number, min: number, max: number): number {
  const raw = params[name]
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new ScenarioParamError(scenario, name, `must be an integer from ${min} to ${max}; got "${raw}"`)
  return v
}
