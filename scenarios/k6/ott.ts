// k6 script for the ott scenario: the one-time-token life cycle. Each VU alternates issuing an
// OTT (POST /ott) and redeeming that same OTT once (POST /validate), so half the requests issue
// and half redeem, as in the harness scenario. Unlike the harness driver, a k6 VU sees responses,
// so the OTT it redeems is one it issued itself and nothing needs seeding.
import { OTT_ISSUE_REQUEST, ottRedeemRequest } from './requests.ts'
import { accessToken, buildOptions, loadConfig, seedNothing, send } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('ott', config)

// Module state is per VU: each VU runs its own copy of this module.
let heldOtt: string | null = null

export function setup(): void {
  seedNothing()
}

export default function (): void {
  if (heldOtt === null) {
    heldOtt = accessToken(send(config.baseUrl, OTT_ISSUE_REQUEST))
    return
  }
  const ott = heldOtt
  heldOtt = null
  send(config.baseUrl, ottRedeemRequest(ott))
}
