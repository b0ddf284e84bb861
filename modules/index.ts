// The module registry: one import and one entry per module.
import type { Module } from '../engine/module.js';
import { qemuConf } from './qemu_conf/index.js';
import { firewall } from './firewall/index.js';
import { ethtool } from './ethtool/index.js';

export const MODULES: Record<string, Module> = {
  qemu_conf: qemuConf,
  firewall,
  ethtool,
};

export function getModule(name: string): Module | undefined {
  return Object.prototype.hasOwnProperty.call(MODULES, name) ? MODULES[name] : undefined;
}

export function moduleNames(): string[] {
  return Object.keys(MODULES).sort();
}
