// The load drivers authbench ships, registered once when the engine is loaded. Another driver
// registers itself the same way, through registerDriver (it is public API).
import { createClosedDriver } from './closed.ts'
import { createJourneyDriver } from './journey.ts'
import { createOpenDriver } from './open.ts'
import { registerDriver } from './registry.ts'

registerDriver({ name: 'autocannon', model: 'closed', description: 'closed model: autocannon, connections × pipelining in flight', create: () => createClosedDriver() })
registerDriver({
  name: 'open',
  model: 'open',
  description: 'open model: a constant arrival rate over a raw HTTP/1.1 keep-alive pool (undici for https)',
  create: () => createOpenDriver()
})

for (const model of ['closed', 'open'] as const) {
  registerDriver({
    name: `journey-${model}`,
    model,
    workload: 'journeys',
    description:
      model === 'closed' ? 'journeys, closed model: N virtual users loop their iterations' : 'journeys, open model: iterations start at an arrival rate, at most --max-vus at once',
    create: () => createJourneyDriver()
  })
}

export { driverFor, driverNameOf, registerDriver, registeredDrivers, workloadOf } from './registry.ts'
export type { DriverRegistration, Workload } from './registry.ts'
