// The lab's public API: the CLI and the integration tests import from here.
export { labUp, labDown, labStatus, labInfo, stopHost, startHost, type LabUpOptions, type LabDownResult } from './lab.js';
export { labCommand } from './command.js';
export { readCommandsLog } from './wrapper.js';
export type { LabHost, LabHostStatus, LabInfo, LabStatus } from './types.js';
