// Request admission with backpressure: at most `maxConcurrent` requests
// run at once, up to `capacity` wait in FIFO order, and a request that would overflow the queue
// or waits longer than `timeoutMs` is refused with 429 and Retry-After. Memory is bounded by
// `capacity`; nothing grows with load.
import { AuthError } from '../errors.ts'

export interface RequestQueueOptions {
  maxConcurrent: number
  capacity: number
  timeoutMs: number
}

export interface RequestQueueStats {
  maxConcurrent: number
  capacity: number
  active: number
  waiting: number
  admitted: number
  queued: number
  rejectedFull: number
  rejectedTimeout: number
}

interface Waiter {
  resolve: () => void
  reject: (err: AuthError) => void
  timer: NodeJS.Timeout
  settled: boolean
}

export class RequestQueue {
  private active = 0
  private waiters: Waiter[] = []
  private head = 0
  private readonly s = { admitted: 0, queued: 0, rejectedFull: 0, rejectedTimeout: 0 }

  constructor(private readonly options: RequestQueueOptions) {}

  private get waiting(): number {
    return this.waiters.length - this.head
  }

  /**
   * Take a slot. Returns `true` when one was free (the hot path allocates nothing), or a promise
   * that resolves when a slot is handed over. Throws a 429 AuthError when the queue is full.
   */
  acquire(): true | Promise<void> {
    if (this.active < this.options.maxConcurrent) {
      this.active++
      this.s.admitted++
      return true
    }
    if (this.waiting >= this.options.capacity) {
      this.s.rejectedFull++
      throw new AuthError('QUEUE_FULL', { retryAfterS: 1 })
    }
    this.s.queued++
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          if (w.settled) return
          w.settled = true
          this.s.rejectedTimeout++
          reject(new AuthError('QUEUE_TIMEOUT', { retryAfterS: 1 }))
        }, this.options.timeoutMs)
      }
      this.waiters.push(w)
    })
  }

  /** Give a slot back; the oldest live waiter gets it. */
  release(): void {
    while (this.head < this.waiters.length) {
      const w = this.waiters[this.head++]!
      if (w.settled) continue
      w.settled = true
      clearTimeout(w.timer)
      this.compact()
      this.s.admitted++
      // The slot passes straight to the waiter: `active` is unchanged.
      w.resolve()
      return
    }
    this.compact()
    if (this.active > 0) this.active--
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head)
      this.head = 0
    } else if (this.head === this.waiters.length) {
      this.waiters = []
      this.head = 0
    }
  }

  stats(): RequestQueueStats {
    let waiting = 0
    for (let i = this.head; i < this.waiters.length; i++) if (!this.waiters[i]!.settled) waiting++
    return { maxConcurrent: this.options.maxConcurrent, capacity: this.options.capacity, active: this.active, waiting, ...this.s }
  }
}
