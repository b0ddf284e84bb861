// The module registry: one import and one entry per module.
import type { Module } from '../engine/module/contract.js';
import { commandModule } from './command/index.js';
import { copyModule } from './copy/index.js';
import { templateModule } from './template/index.js';
import { fileModule } from './file/index.js';
import { iniModule } from './ini/index.js';
import { serviceModule } from './service/index.js';
import { assertModule } from './assert/index.js';
import { setFactModule } from './set_fact/index.js';
import { debugModule } from './debug/index.js';
import { statModule } from './stat/index.js';
import { qemuConf } from './qemu_conf/index.js';
import { firewall } from './firewall/index.js';
import { ethtool } from './ethtool/index.js';
import { sysctl } from './sysctl/index.js';
import { mtu } from './mtu/index.js';
import { shellModule } from './shell/index.js';
import { lineinfileModule } from './lineinfile/index.js';
import { blockinfileModule } from './blockinfile/index.js';
import { failModule } from './fail/index.js';
import { aptModule, packageModule } from './package/index.js';
import { waitForModule } from './wait_for/index.js';
import { evacuationPlanModule } from './evacuation_plan/index.js';
import { evacuationReportModule } from './evacuation_report/index.js';
import { virshMigrate } from './virsh_migrate/index.js';
import { virshDomains } from './virsh_domains/index.js';
import { rebootModule } from './reboot/index.js';

export const MODULES: Record<string, Module> = {
  command: commandModule,
  copy: copyModule,
  template: templateModule,
  file: fileModule,
  ini: iniModule,
  service: serviceModule,
  assert: assertModule,
  set_fact: setFactModule,
  debug: debugModule,
  stat: statModule,
  qemu_conf: qemuConf,
  firewall,
  ethtool,
  sysctl,
  mtu,
  shell: shellModule,
  lineinfile: lineinfileModule,
  blockinfile: blockinfileModule,
  fail: failModule,
  package: packageModule,
  apt: aptModule,
  wait_for: waitForModule,
  evacuation_plan: evacuationPlanModule,
  evacuation_report: evacuationReportModule,
  virsh_migrate: virshMigrate,
  virsh_domains: virshDomains,
  reboot: rebootModule,
};

export function getModule(name: string): Module | undefined {
  return Object.prototype.hasOwnProperty.call(MODULES, name) ? MODULES[name] : undefined;
}

export function moduleNames(): string[] {
  return Object.keys(MODULES).sort();
}
