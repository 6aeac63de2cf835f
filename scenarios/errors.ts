// The auth scenarios raise the harness's coded errors (its one registry, harness/errors.ts).
export { ScenarioParamError, SetupFailedError, UnknownScenarioError } from '../harness/index.ts'
