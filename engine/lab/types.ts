// What a lab is, as returned to the CLI and to integration tests.

export interface LabHost {
  /** Inventory name: hv1, hv2, ... */
  name: string;
  index: number;
  /** Network namespace the host's commands run in. */
  ns: string;
  /** Where its sshd listens: 127.0.<octet>.<10+i>. */
  address: string;
  port: number;
  /** eth1 address on the shared lab network: 198.18.<octet>.<i>. */
  migrationIp: string;
  /** Per-host state directory (sshd_config, host key, logs). */
  dir: string;
  pidFile: string;
  sshdLog: string;
  commandsLog: string;
}

export interface LabInfo {
  name: string;
  octet: number;
  /** .lab/<name>/ */
  dir: string;
  switchNs: string;
  hosts: LabHost[];
  inventoryPath: string;
  knownHostsPath: string;
  /** Client private key (ed25519) accepted by every host as root. */
  keyPath: string;
  /** Hosts run libvirtd + virtlogd (`play lab up --libvirt`). */
  libvirt?: boolean;
}

export interface LabHostStatus extends LabHost {
  netns: boolean;
  sshdPid: number | null;
  holderPid: number | null;
  /** libvirt labs only. */
  libvirtdPid?: number | null;
}

export interface LabStatus {
  name: string;
  /** false when there is no state for this lab at all. */
  exists: boolean;
  info?: LabInfo;
  hosts: LabHostStatus[];
}
