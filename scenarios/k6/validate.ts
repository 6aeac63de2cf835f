// k6 script for the validate scenario: POST /validate with live tokens issued in setup()
// through the public API (the success path), round-robin over POOL_SIZE tokens.
import { validateRequest } from './requests.ts'
import { buildOptions, issueTokens, iterationIndex, loadConfig, send } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('validate', config)

export interface ValidateData {
  tokens: string[]
}

export function setup(): ValidateData {
  return { tokens: issueTokens(config, 'token', config.validatePoolSize) }
}

export default function (data: ValidateData): void {
  const token = data.tokens[iterationIndex() % data.tokens.length] as string
  send(config.baseUrl, validateRequest(token))
}
