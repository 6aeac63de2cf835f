// GET /quotes/:symbol round-robin over the service's symbols: the hot path, nothing consumed.
import { defineScenario } from 'authbench'

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'NFLX']

export default defineScenario({
  name: 'quote',
  description: 'GET /quotes/:symbol, round-robin over eight symbols',
  setup: () => {
    const specs = SYMBOLS.map((symbol) => Object.freeze({ method: 'GET' as const, path: `/quotes/${symbol}`, expectedStatuses: [200] }))
    let next = 0
    return { nextRequest: () => specs[next++ % specs.length] as (typeof specs)[number] }
  }
})
