// The package root (`import … from 'authbench'`): re-exports only. The public types and the
// define* functions are in harness/api.ts, the coded errors in harness/errors.ts, and the two
// extension points in the driver and report registries.
export { DEFAULT_LOAD, defineConfig, defineScenario, defineTarget } from './api.ts'
export type {
  AuthbenchConfig,
  CounterDefinition,
  DefaultLoad,
  GateSettings,
  HttpMethod,
  InstanceStats,
  LoadDefaults,
  RequestSpec,
  Scenario,
  GuideRow,
  ScenarioDefinition,
  VariantStepContext,
  ScenarioInstance,
  ScenarioInstanceInit,
  ScenarioParams,
  SetupContext,
  TargetDefinition,
  TargetOption,
  VariantEnv,
  VariantsReportData
} from './api.ts'
export { StepFailure, defaultStepName } from './journey.ts'
export type { Checks, Iteration, JourneyDefinition, JourneyRequest, JourneyResponse, StepOptions, ThinkTime, VirtualUser } from './journey.ts'
export { AuthbenchError, BadOptionError, ERROR_CODES, EXIT, ScenarioParamError, SetupFailedError, UnknownScenarioError } from './errors.ts'
export type { ErrorCode } from './errors.ts'
export { registerDriver, registeredDrivers } from './engine/drivers/index.ts'
export type { DriverRegistration } from './engine/drivers/index.ts'
export type { Driver, DriverOptions, DriverOutcome, ResponseEvent } from './engine/drivers/types.ts'
export { registerReport, reportFormats } from './reporters/index.ts'
export type { ReportFormat, ReportInput } from './reporters/index.ts'
export type { CheckFigures, Comparison, JourneyFigures, LoadModel, RunResult, Stage, StepFigures, TrialResult } from './types.ts'
// For a driver of one's own: the µs HDR histogram every trial carries, and its encoding.
export { createHistogram, encodeHistogram, toRecordableUs } from './stats/recorder.ts'
