// k6 script for the health scenario: GET / on the base path, the HTTP stack alone.
// Run: k6 run -e BASE_URL=http://127.0.0.1:3000 -e MODEL=open -e RATE=2000 -e DURATION=30s scenarios/k6/health.ts
import { HEALTH_REQUEST } from './requests.ts'
import { buildOptions, loadConfig, seedNothing, send } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('health', config)

export function setup(): void {
  seedNothing()
}

export default function (): void {
  send(config.baseUrl, HEALTH_REQUEST)
}
