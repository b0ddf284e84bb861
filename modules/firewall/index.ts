// firewall: an nftables table of our own that lets only the migration networks reach the
// live-migration ports. Two facets: the live ruleset, and the persisted file (drift reported apart).
import { paramProblem, type ApplyStep, type Change, type DiffResult, type Module } from '../../engine/module/contract.js';
import { markedScript, parseMarked, type Probe, type ProbeOutput } from '../../engine/connection/sections.js';
import { CommandFailedError, ModuleError } from '../../engine/errors.js';
import { sh } from '../../engine/connection/quote.js';
import { dirname } from 'node:path/posix';
import { lineBreakProblems } from '../lib/files/line-checks.js';
import { isMissingTable, parseCidr, parseNftTable, parsePort, type LiveTable } from './parse.js';
import { desiredRules, diffTable, liveDeletes, renderNft, splitTable, type Desired } from './rules.js';

export interface FirewallParams {
  table: string;
  ports: unknown;
  allow_from: string[];
  extra_ports: unknown;
  persist_file?: string;
  state: 'present' | 'absent';
}

export interface FirewallState {
  live: LiveTable;
  /** Content of persist_file; null when it does not exist; undefined when not managed. */
  file?: string | null;
}

const TABLE_RE = /^(inet|ip|ip6)\s+([A-Za-z][A-Za-z0-9_]*)$/;
const EMPTY: LiveTable = { exists: false, chains: [], rules: {}, objects: [] };

/** `49152-49215`, `16514,16509`, 16514 or a list of those → one list of port specs. */
export function portList(v: unknown): Array<string | number> {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(portList);
  if (typeof v === 'number') return [v];
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return [JSON.stringify(v)];
}

const allPorts = (p: FirewallParams) => [...portList(p.ports), ...portList(p.extra_ports)];
const desired = (p: FirewallParams): Desired | null => (p.state === 'absent' ? null : desiredRules(p.table, allPorts(p), p.allow_from));
/**
 * What a change is about: the live table (any of its parts: apply rebuilds the whole table in one
 * transaction) or the persisted file.
 */
export type FirewallTarget = { facet: 'live' } | { facet: 'file'; file: string };
const LIVE: FirewallTarget = { facet: 'live' };
const isLive = (c: Change<FirewallTarget>) => c.target?.facet === 'live';

export const firewall: Module<FirewallParams, FirewallState, FirewallTarget> = {
  name: 'firewall',
  kind: 'state',
  summary: 'Restrict the live-migration ports to the migration networks with an nftables table of its own',
  description: [
    'Keeps one nftables table (default `inet live_migration`) with a base chain `input`',
    '(type filter hook input priority 0, policy accept: only our ports are restricted) holding, for each',
    'network of allow_from, `saddr NET tcp dport PORTS accept`, then `tcp dport PORTS drop`. Other tables',
    'are never read or touched.',
    '',
    'Live facet: read with `nft -j list table`, compared rule by rule (missing / extra rules, chain hook,',
    'priority and policy, foreign chains or sets in our table). Applied as one atomic `nft -f -`',
    'transaction (create table, flush, rebuild): there is no moment without the rules.',
    'File facet (persist_file): the same ruleset rendered from templates/nftables-live-migration.nft.hbs;',
    'a file that differs is reported as its own change, apart from the live ruleset.',
    'An existing persist_file is replaced atomically, its previous content kept as PATH.<timestamp>~.',
    'state: absent deletes the table and the persisted file. A parameter with a line break is refused.',
  ].join('\n'),
  params: {
    table: { type: 'str', description: 'family and name of our table', default: 'inet live_migration' },
    ports: { type: 'raw', description: "migration ports: 'N', 'N-M', a comma list or a list (libvirt's migration_port_min-max)", default: '49152-49215' },
    allow_from: { type: 'list', elements: { type: 'str', description: 'CIDR' }, description: 'networks allowed to connect (IPv4 and IPv6 CIDRs or addresses)', default: [] },
    extra_ports: { type: 'raw', description: "more ports under the same rules, e.g. libvirt's TLS port 16514", default: [] },
    persist_file: { type: 'str', description: 'file the ruleset is persisted to, e.g. /etc/nftables.d/live-migration.nft (include it from /etc/nftables.conf)' },
    state: { type: 'str', description: 'present or absent', default: 'present', choices: ['present', 'absent'] },
  },
  examples: [
    [
      '- name: Only the migration network reaches the migration ports and libvirt TLS',
      '  firewall:',
      '    allow_from: [198.18.24.0/24, "fd00:18:24::/64"]',
      '    ports: 49152-49215',
      '    extra_ports: [16514]',
      '    persist_file: /etc/nftables.d/live-migration.nft',
    ].join('\n'),
    ['- name: Remove the restriction', '  firewall:', '    state: absent', '    persist_file: /etc/nftables.d/live-migration.nft'].join('\n'),
  ],

  validate(p) {
    // Every string here lands in an nft script or file: a line break would add lines to it.
    const out = [
      ...lineBreakProblems('table', p.table),
      ...lineBreakProblems('ports', p.ports),
      ...lineBreakProblems('extra_ports', p.extra_ports),
      ...lineBreakProblems('allow_from', p.allow_from),
      ...lineBreakProblems('persist_file', p.persist_file),
    ];
    if (out.length) return out;
    const t = TABLE_RE.exec(p.table.trim());
    if (!t) out.push(paramProblem('table', `expected 'FAMILY NAME' with FAMILY inet, ip or ip6 and a plain name, got '${p.table}'`));
    const ranges: Array<{ lo: number; hi: number; field: string }> = [];
    for (const field of ['ports', 'extra_ports'] as const) {
      for (const v of portList(p[field])) {
        try {
          ranges.push({ ...parsePort(v), field });
        } catch (e) {
          out.push(paramProblem(field, (e as Error).message));
        }
      }
    }
    if (p.state === 'present' && portList(p.ports).length === 0) out.push(paramProblem('ports', 'name at least one port or range'));
    ranges.sort((a, b) => a.lo - b.lo);
    for (let i = 1; i < ranges.length; i++) {
      // nft refuses overlapping elements in one interval set.
      if (ranges[i].lo <= ranges[i - 1].hi) out.push(paramProblem(ranges[i].field, `${ranges[i].lo} overlaps ${ranges[i - 1].lo}-${ranges[i - 1].hi}`));
    }
    p.allow_from.forEach((c, i) => {
      try {
        const fam = parseCidr(c).family;
        if (t && t[1] !== 'inet' && t[1] !== fam) out.push(paramProblem(`allow_from.${i}`, `'${c}' cannot go in a table of family ${t[1]}`));
      } catch (e) {
        out.push(paramProblem(`allow_from.${i}`, (e as Error).message));
      }
    });
    if (p.state === 'present' && p.allow_from.length === 0) out.push(paramProblem('allow_from', 'name at least one network (else every migration would be dropped)'));
    if (p.persist_file !== undefined && !p.persist_file.startsWith('/')) out.push(paramProblem('persist_file', `must be absolute, got '${p.persist_file}'`));
    return out;
  },

  probe(p, h): Probe<FirewallState> {
    const { family, name } = splitTable(p.table);
    // The live table and the persisted file in one round trip (exit 3: no such file).
    const sections = [{ name: 'nft', cmd: sh`nft -j list table ${family} ${name}` }];
    if (p.persist_file) sections.push({ name: 'file', cmd: sh`if [ -e ${p.persist_file} ]; then cat -- ${p.persist_file}; else (exit 3); fi` });
    const parse = (r: ProbeOutput): FirewallState => {
      const out = parseMarked(r.stdout);
      const nft = out.nft ?? { text: '', rc: -1 };
      let live: LiveTable;
      if (nft.rc === 0) live = parseNftTable(nft.text, family, name);
      else if (nft.rc === 127) throw new ModuleError(`${h.hostName}: nft is not installed (apt-get install nftables)`);
      else if (isMissingTable(nft.rc, nft.text)) live = EMPTY;
      else throw new ModuleError(`${h.hostName}: nft -j list table ${family} ${name} failed (exit ${nft.rc}): ${nft.text.trim()}`);
      const state: FirewallState = { live };
      if (p.persist_file) {
        const f = out.file ?? { text: '', rc: -1 };
        if (f.rc !== 0 && f.rc !== 3) throw new ModuleError(`${h.hostName}: cannot read ${p.persist_file} (exit ${f.rc}): ${f.text.trim()}`);
        state.file = f.rc === 3 ? null : f.text;
      }
      return state;
    };
    return { script: markedScript(sections), parse };
  },

  diff(s, p): DiffResult<FirewallTarget> {
    const want = desired(p);
    const changes: Change<FirewallTarget>[] = diffTable(s.live, p.table, want).map((c) => ({ ...c, target: LIVE }));
    if (p.persist_file) {
      const wantFile = want ? renderNft(want, [], p.persist_file) : null;
      if (s.file !== wantFile) {
        const from = s.file === null ? 'absent' : wantFile === null ? 'present' : 'differs';
        const file: FirewallTarget = { facet: 'file', file: p.persist_file };
        changes.push({ path: `file ${file.file}`, target: file, from, to: wantFile === null ? 'absent' : 'rendered ruleset', before: s.file ?? '', after: wantFile ?? '' });
      }
    }
    return { changes };
  },

  // The ruleset as a here-document (the exec's stdin carries the persisted file), then the file:
  // one exec with the engine's re-read.
  applySteps(p, changes, s, h) {
    const want = desired(p);
    const { family, name } = splitTable(p.table);
    const steps: ApplyStep[] = [];
    const run = (cmd: string) => steps.push({ run: cmd });
    if (changes.some(isLive)) run(want ? hereDoc('nft -f -', renderNft(want, liveDeletes(s.live, want))) : sh`nft delete table ${family} ${name}`);
    if (p.persist_file && changes.some((c) => c.target?.facet === 'file')) {
      if (!want) run(sh`rm -f -- ${p.persist_file}`);
      else {
        run(sh`mkdir -p -- ${dirname(p.persist_file)}`);
        // A file of that name may be an operator's own: keep what it held.
        steps.push({ write: p.persist_file, content: renderNft(want, [], p.persist_file), opts: { mode: '0644', backup: true } });
      }
    }
    return {
      steps,
      judge: (outs) =>
        outs.forEach((o, i) => {
          const step = steps[i];
          if (o && o.code !== 0 && 'run' in step) throw new CommandFailedError(h.hostName, step.run, o.code, o.output);
        }),
    };
  },

  result(s) {
    return { exists: s.live.exists, rules: (s.live.rules.input ?? []).length };
  },
};

const HERE_END = 'PLAY_NFT_END';

/** `cmd` with `text` as its stdin, inside the script (a ruleset never holds the end line). */
function hereDoc(cmd: string, text: string): string {
  if (text.split('\n').includes(HERE_END)) throw new ModuleError(`the ruleset holds a line '${HERE_END}'`);
  return `${cmd} <<'${HERE_END}'\n${text}${text.endsWith('\n') ? '' : '\n'}${HERE_END}`;
}
