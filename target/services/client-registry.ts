// Clients and endpoint rules, preloaded at start (they change rarely and are read on every
// request). A client id not in memory is looked up once and cached, including as
// a short-lived negative entry, so random client ids cannot turn into a database flood.
import { LRUCache } from 'lru-cache'
import type { Client, ClientStore, EndpointRule } from '../domain.ts'

const NEGATIVE_TTL_MS = 30_000

export class ClientRegistry {
  private clients = new Map<string, Client>()
  private readonly unknown = new LRUCache<string, true>({ max: 10_000, ttl: NEGATIVE_TTL_MS })
  /** Lower-cased resource path → rules (global rules have clientId null). */
  private rules = new Map<string, EndpointRule[]>()

  constructor(private readonly store: ClientStore) {}

  async load(): Promise<void> {
    const [clients, endpoints] = await Promise.all([this.store.listClients(), this.store.listEndpoints()])
    this.clients = new Map(clients.map((c) => [c.clientId, c]))
    const rules = new Map<string, EndpointRule[]>()
    for (const e of endpoints) {
      if (!e.active) continue
      const key = normaliseResource(e.endpointUrl)
      const list = rules.get(key) ?? []
      list.push(e)
      rules.set(key, list)
    }
    this.rules = rules
    this.unknown.clear()
  }

  async getClient(clientId: string): Promise<Client | null> {
    const c = this.clients.get(clientId)
    if (c) return c
    if (this.unknown.has(clientId)) return null
    const fromStore = await this.store.getClient(clientId)
    if (fromStore) this.clients.set(clientId, fromStore)
    else this.unknown.set(clientId, true)
    return fromStore
  }

  /**
   * The scope a client needs for a resource: a client-specific rule wins over a global one.
   * `undefined` when no rule covers the resource.
   */
  requiredScope(resource: string, clientId: string): string | undefined {
    const list = this.rules.get(normaliseResource(resource))
    if (!list) return undefined
    return (list.find((r) => r.clientId === clientId) ?? list.find((r) => r.clientId === null))?.scope
  }

  get size(): { clients: number; endpoints: number } {
    let endpoints = 0
    for (const l of this.rules.values()) endpoints += l.length
    return { clients: this.clients.size, endpoints }
  }
}

/** Resources match on their path, case-insensitively, without query string or trailing slash. */
export function normaliseResource(resource: string): string {
  let path = resource.trim()
  // Older clients send the resource in X-Forwarded-For, sometimes as a full URL: only its path counts.
  if (/^https?:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname
    } catch {
      return path.toLowerCase()
    }
  }
  const q = path.search(/[?#]/)
  if (q >= 0) path = path.slice(0, q)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  return path.toLowerCase()
}
