import { describe, expect, it } from 'vitest'
import { inCi, isInteractive } from '../../harness/cli/terminal.ts'

const tty = { isTTY: true }
const pipe = { isTTY: false }

describe('isInteractive', () => {
  it('is true only with both streams on a terminal and CI unset', () => {
    expect(isInteractive({ env: {}, stdout: tty, stderr: tty })).toBe(true)
    expect(isInteractive({ env: {}, stdout: pipe, stderr: tty })).toBe(false)
    expect(isInteractive({ env: {}, stdout: tty, stderr: pipe })).toBe(false)
    expect(isInteractive({ env: {}, stdout: {}, stderr: tty })).toBe(false)
    expect(isInteractive({ env: { CI: 'true' }, stdout: tty, stderr: tty })).toBe(false)
    expect(isInteractive({ env: { TERM: 'dumb' }, stdout: tty, stderr: tty })).toBe(false)
  })

  it('reads CI as most CI systems set it', () => {
    expect(inCi({ CI: 'true' })).toBe(true)
    expect(inCi({ CI: '1' })).toBe(true)
    expect(inCi({ CI: 'woodpecker' })).toBe(true)
    expect(inCi({})).toBe(false)
    expect(inCi({ CI: '' })).toBe(false)
    expect(inCi({ CI: 'false' })).toBe(false)
    expect(inCi({ CI: '0' })).toBe(false)
  })
})
