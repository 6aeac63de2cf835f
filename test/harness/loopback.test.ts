import { describe, expect, it } from 'vitest'
import { assertLoopback, isLoopbackAddress } from '../../harness/engine/loopback.ts'

describe('assertLoopback', () => {
  it.each(['http://127.0.0.5:3000', 'http://127.0.0.1', 'http://[::1]:8080/x', 'http://localhost:3000', 'http://[::ffff:127.0.0.1]:1'])('accepts %s', async (url) => {
    await expect(assertLoopback(url, false)).resolves.toBeUndefined()
  })

  it.each(['http://10.0.0.1:3000', 'http://192.168.1.1', 'http://example.com', 'http://[::ffff:10.0.0.1]', 'http://[2001:db8::1]'])(
    'refuses %s with AUTHBENCH_ERR_REMOTE_TARGET',
    async (url) => {
      await expect(assertLoopback(url, false)).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_REMOTE_TARGET', usage: true })
    }
  )

  it('accepts a remote host with allowRemote', async () => {
    await expect(assertLoopback('http://10.0.0.1:3000', true)).resolves.toBeUndefined()
    await expect(assertLoopback('http://example.com', true)).resolves.toBeUndefined()
  })

  it('refuses what is not an http URL', async () => {
    await expect(assertLoopback('not a url', true)).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_INVALID_URL' })
    await expect(assertLoopback('ftp://127.0.0.1/', true)).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_INVALID_URL' })
  })

  it('knows loopback addresses', () => {
    expect(isLoopbackAddress('127.255.0.1')).toBe(true)
    expect(isLoopbackAddress('[::1]')).toBe(true)
    expect(isLoopbackAddress('128.0.0.1')).toBe(false)
    expect(isLoopbackAddress('::2')).toBe(false)
  })
})
