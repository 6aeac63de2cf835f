// POST /orders with a JSON body: parsing, validation and pricing per request. `side` is a
// parameter (`--scenario-param order.side=sell`), checked before any traffic.
import { ScenarioParamError, defineScenario } from 'authbench'

export default defineScenario({
  name: 'order',
  description: 'POST /orders, a JSON market order; expects 201',
  params: { side: 'buy or sell (default buy)' },
  checkParams: (params) => {
    if (params.side !== undefined && params.side !== 'buy' && params.side !== 'sell') throw new ScenarioParamError('order', 'side', `must be buy or sell; got "${params.side}"`)
  },
  setup: ({ params }) => {
    const spec = Object.freeze({
      method: 'POST' as const,
      path: '/orders',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'NVDA', side: params.side ?? 'buy', quantity: 100 }),
      expectedStatuses: [201]
    })
    return { nextRequest: () => spec, fixedRequest: spec }
  }
})
