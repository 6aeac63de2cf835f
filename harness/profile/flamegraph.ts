// Flame graphs as static inline SVG: one per arm (frame width = that arm's inclusive CPU µs per
// request) and a differential one (width = the mean of both arms, so frames only one arm has stay
// visible; colour = the change in the frame's self time, red where B spends more, blue where it
// spends less, as in Brendan Gregg's differential flame graphs). Root at the top, callees below,
// siblings in name order so the arms' graphs line up. Every frame carries a <title> tooltip.
//
// Written by hand, as SVG generated here rather than a script library (d3-flame-graph needs d3 and
// a script at view time): the page must work offline and from a file, a static SVG renders even
// with scripts off, and this stays a pure, testable function of the call trees.
import type { TreeNode } from './cpuprofile.ts'

const WIDTH = 1140
const ROW = 17
/** Frames narrower than this (px) are left out; their time stays in their parent's width. */
const MIN_PX = 0.5
const CHAR_PX = 6.6

export interface DiffNode {
  name: string
  url: string
  line: number
  a: number
  b: number
  aSelf: number
  bSelf: number
  children: DiffNode[]
}

/** Both arms' trees as one, frames matched by their path from the root. */
export function mergeTrees(a: TreeNode, b: TreeNode): DiffNode {
  const walk = (x: TreeNode | undefined, y: TreeNode | undefined): DiffNode => {
    const id = (x ?? y)?.id ?? { name: '(root)', url: '', line: 0, key: '(root)' }
    const keys = new Set([...(x?.children.keys() ?? []), ...(y?.children.keys() ?? [])])
    return {
      name: id.name,
      url: id.url,
      line: id.line,
      a: x?.total ?? 0,
      b: y?.total ?? 0,
      aSelf: x?.self ?? 0,
      bSelf: y?.self ?? 0,
      children: [...keys].map((k) => walk(x?.children.get(k), y?.children.get(k)))
    }
  }
  return walk(a, b)
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function where(url: string, line: number): string {
  if (url === '') return ''
  return line > 0 ? `${url}:${line}` : url
}

function us(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
}

/** A warm hue per function name, stable across graphs (flamegraph.pl's palette idea). */
function warm(name: string): string {
  let h = 0
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0
  const r = 205 + (h % 50)
  const g = 80 + ((h >>> 8) % 130)
  const b = 40 + ((h >>> 16) % 40)
  return `rgb(${r},${g},${b})`
}

/** Red for more self time in B, blue for less, near-white for no change; `scale` is the |Δ| that saturates. */
export function diffColour(delta: number, scale: number): string {
  if (scale <= 0 || delta === 0) return 'rgb(235,235,235)'
  const t = Math.min(1, Math.abs(delta) / scale)
  const fade = Math.round(225 * (1 - t))
  return delta > 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`
}

interface Frame {
  x: number
  depth: number
  w: number
  fill: string
  label: string
  title: string
  kind: string
}

function layout<T>(
  root: T,
  value: (n: T) => number,
  children: (n: T) => T[],
  name: (n: T) => string,
  describe: (n: T) => { fill: string; title: string; kind: string }
): { frames: Frame[]; depth: number } {
  const rootValue = value(root)
  const frames: Frame[] = []
  let maxDepth = 0
  if (rootValue <= 0) return { frames, depth: 0 }
  const px = WIDTH / rootValue
  const visit = (n: T, x: number, depth: number): void => {
    const w = value(n) * px
    if (w < MIN_PX) return
    const d = describe(n)
    frames.push({ x, depth, w, label: name(n), ...d })
    maxDepth = Math.max(maxDepth, depth)
    let cx = x
    for (const c of [...children(n)].sort((p, q) => name(p).localeCompare(name(q)))) {
      visit(c, cx, depth + 1)
      cx += value(c) * px
    }
  }
  visit(root, 0, 0)
  return { frames, depth: maxDepth + 1 }
}

function svg(frames: Frame[], depth: number, caption: string, kind: string): string {
  const height = depth * ROW + 4
  const body = frames
    .map((f) => {
      const chars = Math.floor((f.w - 6) / CHAR_PX)
      const text = chars >= 3 ? (f.label.length > chars ? `${f.label.slice(0, chars - 1)}…` : f.label) : ''
      const y = f.depth * ROW
      return `<g class="frame ${f.kind}"><title>${esc(f.title)}</title><rect x="${f.x.toFixed(2)}" y="${y}" width="${f.w.toFixed(2)}" height="${ROW - 1}" fill="${f.fill}" rx="1"/>${text === '' ? '' : `<text x="${(f.x + 3).toFixed(2)}" y="${y + ROW - 5}">${esc(text)}</text>`}</g>`
    })
    .join('')
  return `<figure class="flame" data-flame="${esc(kind)}"><figcaption>${esc(caption)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="ui-monospace, monospace" font-size="11">${body}</svg></figure>`
}

/** One arm's flame graph; values in CPU µs per request. */
export function renderFlameGraph(tree: TreeNode, caption: string): string {
  const { frames, depth } = layout(
    tree,
    (n) => n.total,
    (n) => [...n.children.values()],
    (n) => n.id.name,
    (n) => ({
      fill: n.id.name === '(root)' ? 'rgb(200,200,200)' : warm(n.id.name),
      kind: 'arm',
      title: `${n.id.name} ${where(n.id.url, n.id.line)}\ntotal ${us(n.total)} µs/req, self ${us(n.self)} µs/req`
    })
  )
  return svg(frames, depth, caption, 'arm')
}

/** The differential flame graph of B against A. */
export function renderDiffFlameGraph(a: TreeNode, b: TreeNode, caption: string, labels: { a: string; b: string } = { a: 'A', b: 'B' }): string {
  const root = mergeTrees(a, b)
  let scale = 0
  const scan = (n: DiffNode): void => {
    scale = Math.max(scale, Math.abs(n.bSelf - n.aSelf))
    n.children.forEach(scan)
  }
  scan(root)
  const { frames, depth } = layout(
    root,
    (n) => (n.a + n.b) / 2,
    (n) => n.children,
    (n) => n.name,
    (n) => {
      const d = n.bSelf - n.aSelf
      return {
        fill: diffColour(d, scale),
        kind: d > 0 ? 'more' : d < 0 ? 'less' : 'same',
        title: `${n.name} ${where(n.url, n.line)}\nself ${labels.a} ${us(n.aSelf)} → ${labels.b} ${us(n.bSelf)} µs/req (Δ ${d >= 0 ? '+' : ''}${us(d)})\ntotal ${labels.a} ${us(n.a)} → ${labels.b} ${us(n.b)} µs/req`
      }
    }
  )
  return svg(frames, depth, caption, 'diff')
}
