// What `npm pack` ships must run on its own: every module reachable from the bin and the package
// root is in the tarball, and every package those modules import is a runtime dependency (the
// reference target's libraries are devDependencies and an installed harness never gets them).
// Reads `npm pack --dry-run` (without the prepack types build, which the e2e package test runs).
import { execFileSync } from 'node:child_process'
import { builtinModules } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>
  exports?: Record<string, unknown>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

// Static imports, dynamic imports of string literals and require.resolve of a package.
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:require|createRequire\([^)]*\))\.resolve\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm

function closure(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (files.has(file)) continue
    files.add(file)
    const text = readFileSync(path.join(ROOT, file), 'utf8')
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4] ?? ''
      if (spec.startsWith('.')) {
        const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec))
        if (existsSync(path.join(ROOT, target))) queue.push(target)
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string))
      }
    }
  }
  return { files, packages }
}

function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(exportTargets)
  return []
}

describe('the npm package', () => {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  ) as Array<{ files: Array<{ path: string }> }>
  const shipped = new Set(packed[0]?.files.map((f) => f.path))
  const entries = [...Object.values(pkg.bin), ...exportTargets(pkg.exports ?? {})]
    .map((p) => p.replace(/^\.\//, ''))
    .filter((p) => /\.(ts|js|mjs)$/.test(p) && !p.startsWith('types/'))
  const reach = closure(entries)

  it('ships every module the bin and the package root can load', () => {
    expect(entries.length).toBeGreaterThan(0)
    const missing = [...reach.files].filter((f) => !shipped.has(f))
    expect(missing).toEqual([])
  })

  it('ships no tests, reports, benchmark scripts, examples or reference target', () => {
    // A pack that listed nothing (npm's output changed, the parse found no files) would pass the loop below.
    expect(shipped.size).toBeGreaterThan(0)
    expect(shipped.has('package.json')).toBe(true)
    for (const file of shipped) expect(file).not.toMatch(/^(test|reports|scripts|target|examples|\.ci)\/|\.test\.ts$/)
  })

  it('declares exactly the packages that code imports as runtime dependencies', () => {
    expect([...reach.packages].filter((p) => !(p in pkg.dependencies)).sort()).toEqual([])
    expect(
      Object.keys(pkg.dependencies)
        .filter((p) => !reach.packages.has(p))
        .sort()
    ).toEqual([])
  })
})
