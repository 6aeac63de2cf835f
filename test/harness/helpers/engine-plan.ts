// The engine plan the engine tests share: small limits, no calibration, a fixed fingerprint.
import type { EnginePlan, ScenarioPlan } from '../../../harness/engine/engine.ts'

export function testEnginePlan(label: string, scenarios: readonly ScenarioPlan[], trials = 1): EnginePlan {
  return {
    label,
    scenarios,
    trials,
    restartPerTrial: false,
    errorRateThreshold: 0.01,
    lateShareThreshold: 0.05,
    calibration: null,
    maxPoolSize: 1_000,
    setupConcurrency: 2,
    unresponsiveProbes: 3,
    fingerprint: {
      nodeVersion: process.version,
      platform: 'linux',
      arch: 'x64',
      osRelease: 'test',
      cpuModel: 'test',
      cpuCount: 1,
      totalMemBytes: 1,
      hostname: 'test',
      gitCommit: null,
      gitDirty: null,
      variant: null,
      targetOptions: {},
      driver: 'autocannon'
    }
  }
}
