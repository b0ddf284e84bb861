// The lab's public API: the CLI and the integration tests import from here.
export { labUp, labDown, labStatus, labInfo, stopHost, startHost, type LabUpOptions, type LabDownResult } from './lab.js';
export { labCommand, labGuestCommand, labLinkCommand } from './command.js';
export { readCommandsLog } from './wrapper.js';
export type { LabHost, LabHostStatus, LabInfo, LabStatus } from './types.js';
// The KVM lab (libvirt hosts): guests, the migration link, commands inside hosts.
export {
  labGuest, labRestartLibvirtd, setDirtyRate, guestSerialLog, guestSerialPath, guestLocation, guestDefinedOn, hostExec, hostExecOk,
  type LabGuest, type LabGuestOptions,
} from './guest.js';
export { parseSerialLog, type SerialLog } from './guest-spec.js';
export { labLink } from './link.js';
export { labLibvirtUri, PKI as LAB_PKI } from './libvirt-config.js';
export type { HostExecResult } from './holder.js';
