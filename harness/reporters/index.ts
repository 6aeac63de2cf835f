// The reports authbench ships for a comparison, registered once when the reporters are loaded.
// Another format registers itself the same way, through registerReport (it is public API).
import { renderHtml } from './html.ts'
import { renderJson } from './json.ts'
import { renderJunit } from './junit.ts'
import { renderMarkdown } from './markdown.ts'
import { insertBeforeBodyEnd } from './page.ts'
import { registerReport } from './registry.ts'

registerReport({
  name: 'markdown',
  file: 'report.md',
  render: ({ result, comparison, extra }) => `${renderMarkdown(result, comparison)}${extra.markdown ? `\n${extra.markdown}\n` : ''}`
})
registerReport({ name: 'html', file: 'report.html', render: ({ result, comparison, extra }) => insertBeforeBodyEnd(renderHtml(result, comparison), extra.html ?? '') })
registerReport({ name: 'junit', file: 'junit.xml', render: ({ result, comparison }) => renderJunit(result, comparison) })
registerReport({ name: 'json', file: 'result.json', render: ({ result, comparison }) => renderJson(result, comparison) })

export { registerReport, reportFormats, writeReports } from './registry.ts'
export type { ReportFormat, ReportInput } from './registry.ts'
