// The package root (`import … from 'authbench'`): re-exports only. The public types and the
// define* functions are in harness/api.ts, the coded errors in harness/errors.ts.
export { DEFAULT_LOAD, defineConfig, defineScenario, defineTarget } from './api.ts'
export type {
  AuthbenchConfig, CounterDefinition, DefaultLoad, GateSettings, InstanceStats, LoadDefaults, RequestSpec, Scenario,
  GuideRow, ScenarioDefinition, VariantStepContext, ScenarioInstance, ScenarioInstanceInit, ScenarioParams, SetupContext, TargetDefinition, VariantEnv,
  VariantsReportData
} from './api.ts'
export { AuthbenchError, BadOptionError, ERROR_CODES, EXIT, ScenarioParamError, SetupFailedError, UnknownScenarioError } from './errors.ts'
export type { ErrorCode } from './errors.ts'
