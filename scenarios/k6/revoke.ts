// k6 script for the revoke scenario: every request revokes a different live token issued in
// setup(). The iteration's global index picks the token, so no two VUs revoke the same one; past
// the pool's end the last token is reused and counted (authbench_pool_exhausted).
// Memory: k6 copies setup()'s data into every VU, about 300 B per token per VU.
import { revokeRequest } from './requests.ts'
import { buildOptions, consumablePoolSize, issueTokens, iterationIndex, loadConfig, send, takeAt } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('revoke', config)

export interface RevokeData {
  tokens: string[]
}

export function setup(): RevokeData {
  return { tokens: issueTokens(config, 'token', consumablePoolSize(config, 1)) }
}

export default function (data: RevokeData): void {
  send(config.baseUrl, revokeRequest(takeAt(data.tokens, iterationIndex())))
}
