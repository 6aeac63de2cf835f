// The load drivers authbench ships, registered once when the engine is loaded. Another driver
// registers itself the same way, through registerDriver (it is public API).
import { createClosedDriver } from './closed.ts'
import { createOpenDriver } from './open.ts'
import { registerDriver } from './registry.ts'

registerDriver({ name: 'autocannon', model: 'closed', description: 'closed model: autocannon, connections × pipelining in flight', create: () => createClosedDriver() })
registerDriver({
  name: 'open',
  model: 'open',
  description: 'open model: a constant arrival rate over a raw HTTP/1.1 keep-alive pool (undici for https)',
  create: () => createOpenDriver()
})

export { driverFor, registerDriver, registeredDrivers } from './registry.ts'
export type { DriverRegistration } from './registry.ts'
