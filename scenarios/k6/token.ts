// k6 script for the token scenario: POST /token with the sample client's client_credentials body.
import { TOKEN_REQUEST } from './requests.ts'
import { buildOptions, loadConfig, seedNothing, send } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('token', config)

export function setup(): void {
  seedNothing()
}

export default function (): void {
  send(config.baseUrl, TOKEN_REQUEST)
}
