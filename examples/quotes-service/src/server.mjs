// A small market-quotes service in plain node:http, the kind of service authbench gates in its
// own repository: no framework, no database. Its hot path is GET /quotes/:symbol, which prices a
// quote from an in-memory order book (best bid/ask and a volume-weighted mid over the top levels);
// POST /orders validates a JSON order and keeps it in memory.
//
// PORT and HOST come from the environment (authbench picks a free port for every target it starts).
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'NFLX']
const LEVELS = 20

// A deterministic order book per symbol: LEVELS bid and ask levels around a base price.
const books = new Map(
  SYMBOLS.map((symbol, i) => {
    const base = 100 + i * 37.5
    const bids = Array.from({ length: LEVELS }, (_, l) => ({ price: base - 0.01 * (l + 1), size: 100 + ((l * 7919 + i) % 900) }))
    const asks = Array.from({ length: LEVELS }, (_, l) => ({ price: base + 0.01 * (l + 1), size: 100 + ((l * 104729 + i) % 900) }))
    return [symbol, { bids, asks }]
  })
)

const orders = new Map()

/** The hot path: best prices and the size-weighted mid of the top five levels on each side. */
function priceQuote(symbol) {
  const book = books.get(symbol)
  if (book === undefined) return null
  let weighted = 0
  let size = 0
  for (let l = 0; l < 5; l++) {
    const bid = book.bids[l]
    const ask = book.asks[l]
    weighted += bid.price * bid.size + ask.price * ask.size
    size += bid.size + ask.size
  }
  const bid = book.bids[0].price
  const ask = book.asks[0].price
  return { symbol, bid: round(bid), ask: round(ask), mid: round(weighted / size), spreadBps: round(((ask - bid) / ((ask + bid) / 2)) * 10_000) }
}

function round(x) {
  return Math.round(x * 10_000) / 10_000
}

function send(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody(req, limitBytes) {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks = []
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > limitBytes) reject(new Error('too large'))
      else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function createOrder(req, res) {
  let order
  try {
    order = JSON.parse(await readBody(req, 4096))
  } catch {
    return send(res, 400, { error: 'invalid_request', error_description: 'body must be JSON of at most 4 KiB' })
  }
  const { symbol, side, quantity } = order ?? {}
  if (!books.has(symbol)) return send(res, 400, { error: 'invalid_request', error_description: 'unknown symbol' })
  if (side !== 'buy' && side !== 'sell') return send(res, 400, { error: 'invalid_request', error_description: 'side must be buy or sell' })
  if (!Number.isInteger(quantity) || quantity <= 0 || quantity > 1_000_000)
    return send(res, 400, { error: 'invalid_request', error_description: 'quantity must be an integer from 1 to 1000000' })
  const quote = priceQuote(symbol)
  const id = randomUUID()
  // Bounded: a benchmark must not grow the heap without end.
  if (orders.size >= 10_000) orders.delete(orders.keys().next().value)
  orders.set(id, { id, symbol, side, quantity, price: side === 'buy' ? quote.ask : quote.bid })
  send(res, 201, orders.get(id))
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' })
  if (req.method === 'GET' && url.pathname.startsWith('/quotes/')) {
    const quote = priceQuote(decodeURIComponent(url.pathname.slice('/quotes/'.length)))
    return quote === null ? send(res, 404, { error: 'not_found', error_description: 'unknown symbol' }) : send(res, 200, quote)
  }
  if (req.method === 'POST' && url.pathname === '/orders') {
    createOrder(req, res).catch(() => send(res, 400, { error: 'invalid_request', error_description: 'unreadable body' }))
    return
  }
  send(res, 404, { error: 'not_found', error_description: `no route ${req.method} ${url.pathname}` })
})

server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address()
  process.stderr.write(`quotes-service listening on ${address.address}:${address.port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
