// k6 script for the mixed scenario: each iteration draws a kind from the catalog's DEFAULT_MIX
// (70% validate, 15% token, 10% ott, 5% revoke) with the catalog's pickWeighted. The ott share
// alternates issue and redeem-once per VU, as in the ott script; revoke spends distinct tokens
// from setup(). Math.random is unseeded here: k6 VUs interleave, so a seed would not fix the
// order of requests anyway.
import { DEFAULT_MIX, pickWeighted } from '../catalog.ts'
import { OTT_ISSUE_REQUEST, TOKEN_REQUEST, ottRedeemRequest, revokeRequest, validateRequest } from './requests.ts'
import { accessToken, buildOptions, consumablePoolSize, issueTokens, iterationIndex, loadConfig, send, stridedIndex, takeAt } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('mixed', config)

export interface MixedData {
  validateTokens: string[]
  revokeTokens: string[]
}

function share(kind: keyof typeof DEFAULT_MIX): number {
  const total = Object.values(DEFAULT_MIX).reduce((s, w) => s + w, 0)
  return DEFAULT_MIX[kind] / total
}

export function setup(): MixedData {
  return {
    validateTokens: DEFAULT_MIX.validate > 0 ? issueTokens(config, 'token', config.validatePoolSize) : [],
    // The pool is sliced by VU (stridedIndex), so size it for the most VUs the scenario may run.
    revokeTokens: DEFAULT_MIX.revoke > 0 ? issueTokens(config, 'token', consumablePoolSize(config, share('revoke') * 1.5)) : []
  }
}

let heldOtt: string | null = null
let revokesByThisVu = 0
const stride = config.model === 'open' ? config.maxVus : config.vus

export default function (data: MixedData): void {
  switch (pickWeighted(DEFAULT_MIX, Math.random())) {
    case 'validate': {
      const token = data.validateTokens[iterationIndex() % data.validateTokens.length] as string
      send(config.baseUrl, validateRequest(token))
      return
    }
    case 'token':
      send(config.baseUrl, TOKEN_REQUEST)
      return
    case 'ott': {
      if (heldOtt === null) {
        heldOtt = accessToken(send(config.baseUrl, OTT_ISSUE_REQUEST))
        return
      }
      const ott = heldOtt
      heldOtt = null
      send(config.baseUrl, ottRedeemRequest(ott))
      return
    }
    case 'revoke':
      send(config.baseUrl, revokeRequest(takeAt(data.revokeTokens, stridedIndex(revokesByThisVu++, stride))))
      return
  }
}
