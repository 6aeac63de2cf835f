// The page frame every HTML report shares.
import { describe, expect, it } from 'vitest'
import { BASE_CSS, renderPage } from '../../harness/reporters/page.ts'

describe('renderPage', () => {
  const html = renderPage({ title: 'a <b> & c', css: '.x { color: red; }', body: '<h1>hi</h1>', dataId: 'd', data: { s: '</script><x>' }, chartJs: 'var c = 1', script: 'draw()' })

  it('escapes the title, puts the shared CSS before the report its own, and the body in', () => {
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<title>a &lt;b&gt; &amp; c</title>')
    expect(html.indexOf(BASE_CSS)).toBeGreaterThan(0)
    expect(html.indexOf(BASE_CSS)).toBeLessThan(html.indexOf('.x { color: red; }'))
    expect(html).toContain('<body>\n<h1>hi</h1>\n')
  })

  it('carries its data in a JSON tag that no string can close, then Chart.js and the page script', () => {
    const data = /<script type="application\/json" id="d">(.*?)<\/script>/s.exec(html)?.[1]
    expect(JSON.parse(data ?? 'null')).toEqual({ s: '</script><x>' })
    expect(html.indexOf('var c = 1')).toBeLessThan(html.indexOf('draw()'))
  })
})
