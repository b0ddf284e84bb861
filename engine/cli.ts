#!/usr/bin/env node
// The `play` command. Sets process.exitCode (never process.exit) so output always flushes.
import { Command, CommanderError, Option } from 'commander';
import { ValidationError, PlayError } from './errors.js';
import { makeChalk } from './output/colors.js';
import { plainRenderer } from './output/plain.js';
import { listrRenderer } from './output/listr.js';
import { driftRenderer } from './output/drift.js';
import { recapLines } from './output/format.js';
import { templateHelpLines } from './output/help-templates.js';
import { limitsHelpLines } from './output/help-limits.js';
import { prepareRun, runPlaybook, resolveInventories, resolvePlaybook, TOOL_VERSION, type PlaybookRunOptions } from './runner/run.js';
import { parseExtraVars } from './cli/extra-vars.js';
import type { RunRecord } from './results.js';
import { interruptOnSignals } from './cli/interrupt.js';
import { getModule, moduleNames } from '../modules/index.js';
import { describeSchema } from './module/schema.js';
import { loadInventory } from './inventory/index.js';
import { labCommand, labGuestCommand, labLinkCommand } from './lab/index.js';
import { runCheckExtras, driftDiffCommand, scheduleCommand, parseReports } from './report/cli.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = (line: string) => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(line + '\n');
const collect = (v: string, prev: string[]) => [...prev, v];
const csv = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

interface RunFlags {
  inventory: string[];
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  forks: string;
  strategy?: 'linear' | 'free';
  extraVars: string[];
  verbose?: boolean;
  detailedExitcodes?: boolean;
  report: string[];
  stateDir?: string;
  sinceLast?: boolean;
  interruptGrace: string;
  sshKeepalive?: string;
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('-i, --inventory <path>', 'inventory file or directory (repeatable; default: the lab inventory)', collect, [])
    .option('--diff', 'show a unified diff of every file change (made, or pending in check mode)')
    .option('-l, --limit <pattern>', 'further limit the hosts (host pattern)')
    .option('-t, --tags <tags>', 'only run tasks with these tags (comma-separated, repeatable)', csv, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', csv, [])
    .option('-f, --forks <n>', 'hosts worked on at a time', '20')
    .addOption(new Option('--strategy <name>', 'linear: hosts in lock-step per task; free: each host runs ahead').choices(['linear', 'free']))
    .option('-e, --extra-vars <vars>', 'key=value, @file.yml or a YAML mapping (repeatable; highest precedence)', collect, [])
    .option('--report <format=path>', 'write a report: json=PATH, junit=PATH, prometheus=PATH (repeatable)', collect, [])
    .option('--state-dir <dir>', 'where run history is kept (default ~/.local/state/play)')
    .option('--interrupt-grace <seconds>', 'after Ctrl-C/SIGTERM, how long running tasks get to stop and clean up before every connection is cut', '10')
    .option('--ssh-keepalive <seconds>', 'SSH keepalive interval; a host that answers none of 3 in a row is unreachable (default 5; 0 turns it off; play_ssh_keepalive_interval/_count_max per host win)')
    .option('-v, --verbose', 'more detail, and stack traces for engine faults');
}

/** A numeric option as the user typed it: 'abc' or '2.5' is named, not turned into NaN. */
function wholeNumber(option: string, value: string, min: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new PlayError(`${option} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got '${value}'`);
  return Number(value);
}

/** check: drift per host at the end; a terminal gets listr2 (lock-step tasks only); else one line per event. */
function pickRenderer(mode: 'run' | 'check', flags: RunFlags) {
  if (mode === 'check') return driftRenderer;
  // A terminal too narrow to draw a tree (or a pty with no size) gets lines too.
  const drawable = process.stdout.isTTY && (process.stdout.columns ?? 0) >= 40;
  return drawable && !process.env.CI && flags.strategy !== 'free' ? listrRenderer : plainRenderer;
}

/** The run's header names its inventory: a lab left up must never be used by surprise. */
function inventoryLine(paths: string[], defaulted: boolean): string {
  return `inventory: ${paths.join(', ')}${defaulted ? " (the lab's, since no -i was given: pass -i INVENTORY for your hosts)" : ''}`;
}

/**
 * Ctrl-C/SIGTERM abort the run's signal (once): cancellable modules clean up, e.g. abort a
 * migration job so the guest stays on its source. A second Ctrl-C kills as usual.
 */

async function doRun(playbook: string, flags: RunFlags, mode: 'run' | 'check'): Promise<number> {
  const check = mode === 'check' || !!flags.check;
  const detailed = mode === 'check' || !!flags.detailedExitcodes;
  const forks = wholeNumber('--forks', flags.forks, 1);
  const chalk = makeChalk(process.stdout);
  const opts: PlaybookRunOptions = {
    playbook,
    inventories: flags.inventory,
    check,
    diff: !!flags.diff,
    limit: flags.limit,
    tags: flags.tags,
    skipTags: flags.skipTags,
    forks,
    strategy: flags.strategy,
    extraVars: parseExtraVars(flags.extraVars),
    detailedExitcodes: detailed,
    command: mode,
    observer: pickRenderer(mode, flags)({ verbose: !!flags.verbose, diff: !!flags.diff, showUnchanged: true, write: out, chalk }),
  };
  const graceS = wholeNumber('--interrupt-grace', flags.interruptGrace, 0);
  if (flags.sshKeepalive !== undefined) opts.sshKeepaliveS = wholeNumber('--ssh-keepalive', flags.sshKeepalive, 0);
  const reports = parseReports(flags.report);
  const prepared = prepareRun(opts); // every validation problem before any host is touched
  out(chalk.dim(inventoryLine(prepared.inventoryPaths, flags.inventory.length === 0)));
  // Installed until the reports and history are written: a signal after the run must not kill
  // the process half-way through them (each is written atomically anyway).
  const interrupt = interruptOnSignals(err, graceS);
  try {
    const record = await runPlaybook({ ...opts, signal: interrupt.signal, hurry: interrupt.hurry, interruptGraceMs: graceS * 1000 }, prepared);
    afterRun(record, mode, flags, chalk);
    await runCheckExtras(record, { reports, stateDir: flags.stateDir, sinceLast: !!flags.sinceLast, write: out, chalk, columns: terminalColumns() });
    return record.exitCode;
  } finally {
    interrupt.dispose();
  }
}

const terminalColumns = () => (process.stdout.isTTY ? (process.stdout.columns ?? Infinity) : Infinity);

/** The interruption notice and the recap (a drift check shows its recap with -v only). */
function afterRun(record: RunRecord, mode: 'run' | 'check', flags: RunFlags, chalk: ReturnType<typeof makeChalk>): void {
  out('');
  if (record.interrupted) out(chalk.red(`INTERRUPTED by ${record.interrupted}: the recap and reports show what ran until then`));
  // A drift check answers with the per-host drift and the summary line; the recap is detail.
  if (mode === 'run' || flags.verbose) for (const l of recapLines(chalk, record.hosts, record.durationMs, terminalColumns())) out(l);
}

export async function main(argv = process.argv): Promise<number> {
  const program = new Command();
  let code = 0;
  program
    .name('play')
    .description('Idempotent playbooks for KVM hypervisor fleets, specialised in fast and safe live migration')
    .version(TOOL_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  addRunOptions(program.command('run <playbook>').description('run a playbook (exit 0 ok, 4 failed/unreachable, 1 usage or engine fault)'))
    .option('-C, --check', 'check mode: read and diff only, change nothing')
    .option('--detailed-exitcodes', "0 no changes, 2 changes, 4 failures, 6 both (Puppet's convention)")
    .action(async (pb: string, flags: RunFlags) => {
      code = await doRun(pb, flags, 'run');
    });

  addRunOptions(program.command('check <playbook>').description('drift check: run --check --detailed-exitcodes (0 in sync, 2 drift, 4 errors/unreachable, 6 both)'))
    .option('--since-last', 'also show what drifted since the previous check')
    .action(async (pb: string, flags: RunFlags) => {
      code = await doRun(pb, flags, 'check');
    });

  program
    .command('validate <playbook>')
    .description('report every problem in the playbook and inventory at once (file:line:col); connects to nothing')
    .option('-i, --inventory <path>', 'inventory (repeatable)', collect, [])
    .option('-e, --extra-vars <vars>', 'extra variables', collect, [])
    .action((pb: string, flags: { inventory: string[]; extraVars: string[] }) => {
      const prepared = prepareRun({ playbook: pb, inventories: flags.inventory, extraVars: parseExtraVars(flags.extraVars) });
      const tasks = prepared.playbook.plays.reduce((n, p) => n + p.tasks.length, 0);
      out(`${prepared.playbook.file}: ok (${prepared.playbook.plays.length} plays, ${tasks} top-level tasks, ${prepared.inventory.hosts.size} hosts)`);
      out(inventoryLine(prepared.inventoryPaths, flags.inventory.length === 0));
    });

  program
    .command('inventory')
    .description('show an inventory the way ansible-inventory does')
    .option('-i, --inventory <path>', 'inventory (repeatable)', collect, [])
    .option('--list', 'JSON: _meta.hostvars, all.children, groups with hosts/children')
    .option('--graph', 'a tree of groups and hosts')
    .option('--host <name>', "one host's merged variables")
    .action((flags: { inventory: string[]; list?: boolean; graph?: boolean; host?: string }) => {
      const inv = loadInventory(resolveInventories(flags.inventory));
      if (flags.host) {
        if (!inv.hosts.has(flags.host)) throw new PlayError(`host '${flags.host}' is not in the inventory`);
        out(JSON.stringify(inv.hosts.get(flags.host)!.vars, null, 4));
      } else if (flags.graph) out(inv.toGraph());
      else out(JSON.stringify(inv.toList(), null, 4));
    });

  program
    .command('modules [name]')
    .description('list modules, or show one module: parameters, defaults, examples')
    .action((name?: string) => {
      if (!name) {
        for (const n of moduleNames()) out(`${n.padEnd(16)} ${getModule(n)!.summary}`);
        return;
      }
      const m = getModule(name);
      if (!m) throw new PlayError(`unknown module '${name}'; modules: ${moduleNames().join(', ')}`);
      out(`${m.name}: ${m.summary}\n`);
      if (m.description) out(`${m.description}\n`);
      out('Parameters:');
      out(describeSchema(m.params));
      if (m.examples.length) {
        out('\nExamples:');
        for (const ex of m.examples) out(ex.replace(/^/gm, '  ') + '\n');
      }
    });

  // `play help templates` is a topic of its own; `play help COMMAND` stays commander's help.
  program.helpCommand(false);
  program
    .command('help [topic]')
    .description("help for a command, 'templates' (the template helpers and the Jinja habits they replace) or 'limits' (throttle, keyed limits, parallel loops)")
    .action((topic?: string) => {
      if (topic === 'templates') for (const l of templateHelpLines()) out(l);
      else if (topic === 'limits') for (const l of limitsHelpLines()) out(l);
      else (program.commands.find((c) => c.name() === topic) ?? program).outputHelp();
    });

  const lab = program.command('lab').description('the built-in lab: test hosts in network namespaces behind real sshd (root)');
  for (const action of ['up', 'down', 'status'] as const) {
    const c = lab.command(action).option('--name <name>', 'lab name', 'lab');
    if (action === 'up') {
      c.option('--hosts <n>', 'number of hosts', '3').option('--octet <n>', 'third octet of the lab addresses (127.0.N.x, 198.18.N.x); default 10');
      c.option('--no-install', 'never install missing Debian packages (also PLAY_NO_INSTALL=1): print the apt-get line instead');
      c.option('--libvirt', 'make every host a libvirt host (libvirtd + virtlogd inside it, TLS on eth1)');
    }
    c.action(async (flags: { name: string; hosts?: string; octet?: string; install?: boolean; libvirt?: boolean }) => {
      const hosts = flags.hosts === undefined ? undefined : wholeNumber('--hosts', flags.hosts, 1);
      const octet = flags.octet === undefined ? undefined : wholeNumber('--octet', flags.octet, 0);
      // commander sets install=true by default for a --no- option: only an explicit refusal counts.
      const install = flags.install === false ? false : undefined;
      code = await labCommand(action, { name: flags.name, hosts, octet, install, libvirt: flags.libvirt }, out);
    });
  }
  lab
    .command('guest <name>')
    .description('start a small TCG guest whose init dirties memory (libvirt lab)')
    .requiredOption('--on <host>', 'lab host to start it on (hv1, ...)')
    .option('--name <lab>', 'lab name', 'lab')
    .option('--memory <MiB>', 'guest memory', '256')
    .option('--dirty-rate <MiB/s>', 'memory the guest dirties per second (change later through its serial console)', '16')
    .option('--working-set <MiB>', 'memory the dirtier cycles through')
    .option('--transient', 'virsh create instead of define + start')
    .option('--no-install', 'never install missing Debian packages')
    .action(async (guest: string, f: { on: string; name: string; memory: string; dirtyRate: string; workingSet?: string; transient?: boolean; install?: boolean }) => {
      const memoryMib = wholeNumber('--memory', f.memory, 64);
      const dirtyRateMib = wholeNumber('--dirty-rate', f.dirtyRate, 0);
      const workingSetMib = f.workingSet === undefined ? undefined : wholeNumber('--working-set', f.workingSet, 1);
      const install = f.install === false ? false : undefined;
      code = await labGuestCommand({ name: f.name, guest, on: f.on, memoryMib, dirtyRateMib, workingSetMib, transient: f.transient, install }, out);
    });
  lab
    .command('link')
    .description("limit the migration network's bandwidth (tbf on every host's eth1 egress)")
    .requiredOption('--rate <mbit>', 'Mbit/s, or none to remove the limit')
    .option('--name <lab>', 'lab name', 'lab')
    .action(async (f: { rate: string; name: string }) => {
      code = await labLinkCommand({ name: f.name, rate: f.rate }, out);
    });

  program
    .command('drift')
    .description('drift history')
    .command('diff <playbook>')
    .description('what drifted since the previous check: new, resolved, still drifted')
    .option('-i, --inventory <path>', 'inventory (repeatable)', collect, [])
    .option('--state-dir <dir>', 'history directory')
    .action(async (pb: string, flags: { inventory: string[]; stateDir?: string }) => {
      code = await driftDiffCommand(resolvePlaybook(pb), resolveInventories(flags.inventory), flags.stateDir, out);
    });

  program
    .command('schedule <playbook>')
    .description('print (or --install) a systemd service+timer and the cron line for a periodic drift check')
    .option('-i, --inventory <path>', 'inventory (repeatable)', collect, [])
    .option('--every <interval>', 'e.g. 15m, 1h', '15m')
    .option('--report <format=path>', 'reports the check writes (repeatable)', collect, [])
    .option('--state-dir <dir>', 'history directory')
    .option('--install', 'write the units to /etc/systemd/system')
    .option('-l, --limit <pattern>', 'check only these hosts (host pattern)')
    .option('-t, --tags <tags>', 'only tasks with these tags', csv, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', csv, [])
    .option('-e, --extra-vars <vars>', 'extra variables, as for play check (repeatable; stored in the unit: no secrets)', collect, [])
    .option('--user <name>', 'run the check as this user (systemd User=, the cron user; default root)')
    .option('--timeout <interval>', 'stop a check running longer than this (TimeoutStartSec; default: the interval)')
    .action(async (pb: string, flags: { inventory: string[]; every: string; report: string[]; stateDir?: string; install?: boolean; limit?: string; tags: string[]; skipTags: string[]; extraVars: string[]; user?: string; timeout?: string }) => {
      code = await scheduleCommand({ playbook: resolvePlaybook(pb), inventories: resolveInventories(flags.inventory), ...flags }, out);
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    if (e instanceof ValidationError) {
      for (const l of e.message.split('\n')) err(l);
      err(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} found; nothing was changed`);
      return 1;
    }
    if (e instanceof PlayError) {
      err(`error: ${e.message}`);
      return 1;
    }
    err(`internal error (a bug in play): ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

const invokedDirectly = (() => {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

/**
 * `play … | head`: once the reader is gone, output is dropped instead of crashing on EPIPE; the
 * run itself goes on to its end (hosts half-changed, reports and history unwritten would be worse).
 */
function quietOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

if (invokedDirectly) {
  quietOnClosedPipes();
  let settled = false;
  // The event loop drained while main() still waited: a lost callback, never a quiet exit 0.
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write('internal error (a bug in play): the run stopped before it ended (a pending operation never completed)\n');
    process.exitCode = 1;
  });
  main().then(
    (c) => {
      settled = true;
      process.exitCode = c;
    },
    (e) => {
      settled = true;
      process.stderr.write(`internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
