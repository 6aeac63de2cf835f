// The schema of the gate's settings as a config file or the command line may override them. It sits
// in the base layer because config loading validates it; the defaults and the verdict rules that
// read it are in harness/stats/verdict.ts.
import { z } from 'zod'

const metricEnum = z.enum(['throughputRps', 'p50Us', 'p95Us', 'p99Us', 'errorRate', 'cpuUsPerRequest', 'checkFailureRate'])

/** The config file's `gate`: overrides of DEFAULT_COMPARE_SETTINGS. */
export const settingsOverrideSchema = z.strictObject({
  margins: z.partialRecord(metricEnum, z.number().positive().max(10)).optional(),
  gatedMetrics: z.array(metricEnum).optional(),
  minTrials: z.number().int().min(1).optional(),
  maxInvalidTrials: z.number().int().min(0).optional(),
  confidence: z.number().gt(0.5).lt(1).optional(),
  resamples: z.number().int().min(200).max(100_000).optional(),
  seed: z.number().int().optional(),
  intervalMethod: z.enum(['bca', 'percentile']).optional(),
  requireSignificance: z.boolean().optional()
})

export type CompareSettingsOverride = z.infer<typeof settingsOverrideSchema>
