// Names and addresses of a lab: one place, so up, down, status and tests agree.
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { rootPath } from '../paths.js';

export const DEFAULT_LAB = 'lab';

export function checkLabName(name: string): string {
  // The name becomes part of namespace names and of paths under .lab/ and /etc/netns/.
  if (!/^[a-z][a-z0-9]{0,15}$/.test(name)) {
    throw new PlayError(`invalid lab name '${name}': use 1-16 lowercase letters or digits, starting with a letter`);
  }
  return name;
}

export function checkOctet(octet: number): number {
  if (!Number.isInteger(octet) || octet < 0 || octet > 255) throw new PlayError(`invalid lab octet ${octet}: use 0-255`);
  return octet;
}

export function checkHostCount(hosts: number): number {
  // Host i listens on 127.0.<octet>.<10+i>: the last usable address is .254.
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 244) throw new PlayError(`invalid host count ${hosts}: use 1-244`);
  return hosts;
}

export const labDir = (name: string): string => rootPath('.lab', name);
export const hostDir = (name: string, i: number): string => join(labDir(name), `hv${i}`);
export const hostNs = (name: string, i: number): string => `play-${name}-hv${i}`;
export const switchNs = (name: string): string => `play-${name}-sw`;
export const sshAddress = (octet: number, i: number): string => `127.0.${octet}.${10 + i}`;
export const migrationIp = (octet: number, i: number): string => `198.18.${octet}.${i}`;
export const stateFile = (name: string): string => join(labDir(name), 'lab.json');

/** Namespaces that belong to lab `name`: its hosts and its switch, nothing with a longer name. */
export function ownsNamespace(name: string, ns: string): boolean {
  return new RegExp(`^play-${name}-(hv[0-9]+|sw)$`).test(ns);
}

export function defaultInventoryPath(name: string): string {
  return name === DEFAULT_LAB ? rootPath('inventories', 'lab.yml') : join(labDir(name), 'inventory.yml');
}
