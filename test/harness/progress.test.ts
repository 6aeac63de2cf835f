import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ProgressDisplay, formatUs } from '../../harness/cli/progress.ts'

function fakeTerminal(isTTY: boolean): NodeJS.WriteStream & { written: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { written: () => string }
  let text = ''
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString()
  })
  Object.assign(stream, { isTTY, columns: 120, cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true, written: () => text })
  return stream
}

const tty = { isTTY: true }

describe('ProgressDisplay', () => {
  it('is silent with --json, without a TTY on either stream, or when CI is set', () => {
    const silent = [
      new ProgressDisplay({ json: true, stream: fakeTerminal(true), stdout: tty, env: {} }),
      new ProgressDisplay({ stream: fakeTerminal(false), stdout: tty, env: {} }),
      new ProgressDisplay({ stream: fakeTerminal(true), stdout: { isTTY: false }, env: {} }),
      new ProgressDisplay({ stream: fakeTerminal(true), stdout: tty, env: { CI: 'true' } })
    ]
    for (const display of silent) {
      expect(display.enabled).toBe(false)
      const driver = new EventEmitter()
      const detach = display.attach(driver, { scenario: 'health', trial: 0, durationMs: 3000 })
      expect(driver.eventNames()).toEqual([])
      detach()
      display.stop()
    }
  })

  it('draws a bar per trial from tick events and unsubscribes on done', () => {
    const terminal = fakeTerminal(true)
    const display = new ProgressDisplay({ stream: terminal, stdout: tty, env: {} })
    const driver = new EventEmitter()
    display.attach(driver, { scenario: 'validate', trial: 1, durationMs: 2000 })
    driver.emit('start', { startedAtMs: Date.now(), durationMs: 2000, warmupMs: 0 })
    driver.emit('tick', { second: 0, requests: 12_345, errors: 2, p50Us: 300, p99Us: 1500 })
    driver.emit('done', { durationMs: 2000, requests: 24_000, errors: 3, aborted: false })
    display.stop()
    expect(terminal.written()).toContain('validate#2')
    expect(driver.eventNames()).toEqual([])
  })

  it('formats microseconds for people', () => {
    expect(formatUs(300)).toBe('300µs')
    expect(formatUs(1500)).toBe('1.5ms')
    expect(formatUs(250_000)).toBe('250ms')
    expect(formatUs(2_500_000)).toBe('2.50s')
  })
})
