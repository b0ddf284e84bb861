// The firewall's desired table as data, the rule-level diff against the live table, and the
// nft text (one atomic `nft -f -` transaction, also the persisted file) rendered from a template.
import { readFileSync } from 'node:fs';
import type { Change } from '../../engine/module/contract.js';
import { rootPath } from '../../engine/paths.js';
import { renderFile } from '../../engine/lang/template.js';
import { parseCidr, parsePort, sortPorts, type ChainInfo, type LiveTable, type RuleTuple } from './parse.js';

export const CHAIN: Required<ChainInfo> = { name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' };
export const TEMPLATE = 'nftables-live-migration.nft.hbs';

export interface Desired {
  family: string;
  name: string;
  rules: RuleTuple[];
}

/** `inet live_migration` → family and name (validated by the module). */
export function splitTable(table: string): { family: string; name: string } {
  const [family, name] = table.trim().split(/\s+/);
  return { family, name };
}

/** Accept from each allowed network, then drop everyone else, on the same ports. */
export function desiredRules(table: string, ports: Array<string | number>, allowFrom: string[]): Desired {
  const { family, name } = splitTable(table);
  const dports = sortPorts(ports.map(parsePort));
  const rules: RuleTuple[] = allowFrom.map((c) => {
    const cidr = parseCidr(c);
    return { family: cidr.family, saddr: [cidr.text], dports, verdict: 'accept', other: [] };
  });
  rules.push({ family: null, saddr: null, dports, verdict: 'drop', other: [] });
  return { family, name, rules };
}

/** nft syntax of a tuple: `ip saddr 198.18.24.2 tcp dport { 16514, 49152-49215 } accept`. */
export function ruleText(r: RuleTuple): string {
  const set = (xs: string[]) => (xs.length === 1 ? xs[0] : `{ ${xs.join(', ')} }`);
  const parts: string[] = [];
  if (r.saddr) parts.push(`${r.family} saddr ${set(r.saddr)}`);
  if (r.dports) parts.push(`tcp dport ${set(r.dports)}`);
  parts.push(...r.other);
  if (r.verdict) parts.push(r.verdict);
  return parts.join(' ');
}

const key = (r: RuleTuple) => JSON.stringify(r);

/** Chain-level and rule-level differences of our table (other tables are never looked at). */
export function diffTable(live: LiveTable, table: string, want: Desired | null): Change[] {
  const { family, name } = splitTable(table);
  const t = `nft table ${family} ${name}`;
  if (!want) return live.exists ? [{ path: t, from: 'present', to: 'absent' }] : [];
  if (!live.exists) return [{ path: t, from: 'absent', to: 'present', message: `absent → create with ${want.rules.length} rules` }];
  const changes: Change[] = [];
  const chain = live.chains.find((c) => c.name === CHAIN.name);
  if (!chain) changes.push({ path: `${t} chain ${CHAIN.name}`, from: 'absent', to: 'present' });
  else {
    for (const f of ['type', 'hook', 'prio', 'policy'] as const) {
      if (chain[f] !== CHAIN[f]) changes.push({ path: `${t} chain ${CHAIN.name} ${f}`, from: chain[f], to: CHAIN[f] });
    }
  }
  for (const c of live.chains) if (c.name !== CHAIN.name) changes.push({ path: `${t} chain ${c.name}`, from: 'present', to: 'absent' });
  for (const o of live.objects) changes.push({ path: `${t} ${o.type} ${o.name}`, from: 'present', to: 'absent' });

  const have = live.rules[CHAIN.name] ?? [];
  // Multiset difference: a rule present twice is one extra.
  const pool = new Map<string, number>();
  for (const r of have) pool.set(key(r), (pool.get(key(r)) ?? 0) + 1);
  const missing: RuleTuple[] = [];
  for (const r of want.rules) {
    const n = pool.get(key(r)) ?? 0;
    if (n > 0) pool.set(key(r), n - 1);
    else missing.push(r);
  }
  const wanted = new Map<string, number>();
  for (const r of want.rules) wanted.set(key(r), (wanted.get(key(r)) ?? 0) + 1);
  const extra: RuleTuple[] = [];
  for (const r of have) {
    const n = wanted.get(key(r)) ?? 0;
    if (n > 0) wanted.set(key(r), n - 1);
    else extra.push(r);
  }
  for (const r of missing) changes.push({ path: `${t} rule`, from: undefined, to: ruleText(r), message: `missing: ${ruleText(r)}` });
  for (const r of extra) changes.push({ path: `${t} rule`, from: ruleText(r), to: undefined, message: `extra: ${ruleText(r)}` });
  if (!missing.length && !extra.length && have.map(key).join('\n') !== want.rules.map(key).join('\n')) {
    // Same rules, wrong order: a drop before an accept blocks the allowed peers.
    changes.push({ path: `${t} rule order`, from: have.map(ruleText), to: want.rules.map(ruleText) });
  }
  return changes;
}

let source: string | undefined;

/**
 * The nft script. `deletes` removes what the live table holds beyond ours (chains, sets) inside the
 * same transaction; the persisted file has none, so it loads on a clean boot and on a reload alike.
 */
export function renderNft(want: Desired, deletes: string[], persistPath?: string): string {
  source ??= readFileSync(rootPath('templates', TEMPLATE), 'utf8');
  return renderFile(source, {
    family: want.family,
    name: want.name,
    deletes,
    chain: CHAIN,
    rules: want.rules.map(ruleText),
    persistPath: persistPath ?? '',
  }, { file: `templates/${TEMPLATE}` });
}

/** Deletes for the transaction: every chain and object the live table has (rebuilt right after). */
export function liveDeletes(live: LiveTable, want: Desired): string[] {
  if (!live.exists) return [];
  const t = `${want.family} ${want.name}`;
  // Our own chain is deleted too: nft refuses to change hook or priority of an existing chain.
  return [...live.chains.map((c) => `delete chain ${t} ${c.name}`), ...live.objects.map((o) => `delete ${o.type} ${t} ${o.name}`)];
}
