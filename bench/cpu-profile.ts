// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per file or
// package, so a profile can be read without a browser.
//   node dist/bench/cpu-profile.js PROFILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Summary {
  totalMs: number;
  byFunction: Array<[string, number]>;
  byFile: Array<[string, number]>;
  /** Time in a function and everything it called (a recursive function counted once per stack). */
  inclusive: Array<[string, number]>;
}

/** Where a frame's time is charged: node_modules/<pkg>, a project file, or a V8/Node bucket. */
function fileKey(url: string): string {
  if (!url) return '(native/gc/idle)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `pkg ${nm[1]}`;
  if (url.startsWith('node:')) return url;
  const own = /\/dist\/(.+)$/.exec(url);
  return own ? own[1] : url;
}

const frameKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${fileKey(f.url)}:${f.lineNumber + 1}`;

export function summarise(p: CpuProfile): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  // timeDeltas[i] is the time before sample i; charge it to that sample's (leaf) node.
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    add(fn, frameKey(n.callFrame), ms);
    add(file, fileKey(n.callFrame.url), ms);
  }
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const incl = new Map<string, number>();
  // Depth-first over the call tree, charging each node's subtree to every distinct frame on its stack.
  const walk = (id: number, stack: Set<string>): number => {
    const n = byId.get(id)!;
    const k = frameKey(n.callFrame);
    const fresh = !stack.has(k);
    if (fresh) stack.add(k);
    let ms = self.get(id) ?? 0;
    for (const c of n.children ?? []) ms += walk(c, stack);
    if (fresh) {
      stack.delete(k);
      add(incl, k, ms);
    }
    return ms;
  };
  walk(p.nodes[0].id, new Set());
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: (p.endTime - p.startTime) / 1000, byFunction: sorted(fn), byFile: sorted(file), inclusive: sorted(incl) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, match: { type: 'string', default: '' } } });
  const top = Number(values.top);
  for (const path of positionals) {
    const s = summarise(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile);
    const line = ([k, ms]: [string, number]) => `${ms.toFixed(1).padStart(9)} ms  ${(100 * ms / s.totalMs).toFixed(1).padStart(5)}%  ${k}`;
    process.stdout.write(`${path}: ${s.totalMs.toFixed(0)} ms\n-- by file/package --\n${s.byFile.slice(0, top).map(line).join('\n')}\n-- by function --\n${s.byFunction.slice(0, top).map(line).join('\n')}\n` +
      `-- inclusive${values.match ? ` (matching ${values.match})` : ''} --\n${s.inclusive.filter(([k]) => k.includes(values.match!)).slice(0, top).map(line).join('\n')}\n\n`);
  }
}
