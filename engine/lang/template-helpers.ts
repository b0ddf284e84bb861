// The Handlebars helpers of playbooks and template files. Each is documented here; `HELPER_DOCS`
// is what `play` lists. Values follow the same Python-like rules as `when:` expressions.
import { pyContains, pyEquals, pyCompare, pyLen, toBool, toInt, truthy } from './expr-values.js';

export interface HelperDoc {
  name: string;
  usage: string;
  summary: string;
}

type Helper = (...args: unknown[]) => unknown;

/** Handlebars passes an options object last; helpers only want the user's arguments. */
interface HelperOptions {
  hash?: Record<string, unknown>;
  data?: { root?: Record<string, unknown> };
}

function userArgs(args: unknown[]): { params: unknown[]; hash: Record<string, unknown>; root: Record<string, unknown> } {
  const opts = args[args.length - 1] as HelperOptions | undefined;
  return { params: args.slice(0, -1), hash: opts?.hash ?? {}, root: opts?.data?.root ?? {} };
}

function arity(name: string, params: unknown[], min: number, max = min): void {
  if (params.length < min || params.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new TypeError(`helper '${name}' takes ${want} argument${max === 1 ? '' : 's'}, got ${params.length}`);
  }
}

function list(name: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`helper '${name}' needs a list, got ${JSON.stringify(v)}`);
  return v;
}

function num(name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new TypeError(`helper '${name}' needs numbers, got ${JSON.stringify(v)}`);
}

type HelperFn = (p: unknown[], hash: Record<string, unknown>, root: Record<string, unknown>) => unknown;

function define(name: string, usage: string, summary: string, min: number, max: number, fn: HelperFn) {
  const helper: Helper = (...args) => {
    const { params, hash, root } = userArgs(args);
    arity(name, params, min, max);
    return fn(params, hash, root);
  };
  return { name, usage, summary, helper };
}

const DEFS = [
  // default: the first argument unless it is undefined or null. Undefined variables are allowed here.
  define('default', '{{default value fallback}}', 'value if defined and not null, else fallback', 2, 2, ([v, f]) => (v === undefined || v === null ? f : v)),
  // join: list items joined by a separator ('' by default, like Jinja).
  define('join', '{{join list ", "}}', 'list items joined by the separator', 1, 2, ([l, sep]) => {
    if (!Array.isArray(l)) throw new TypeError(`helper 'join' needs a list, got ${JSON.stringify(l)}`);
    return l.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(sep === undefined ? '' : String(sep));
  }),
  define('eq', '{{#if (eq a b)}}', 'a == b (Python rules: 1 == "1" is false)', 2, 2, ([a, b]) => pyEquals(a, b)),
  define('ne', '{{#if (ne a b)}}', 'a != b', 2, 2, ([a, b]) => !pyEquals(a, b)),
  define('lt', '{{#if (lt a b)}}', 'a < b', 2, 2, ([a, b]) => pyCompare(a, b) < 0),
  define('le', '{{#if (le a b)}}', 'a <= b', 2, 2, ([a, b]) => pyCompare(a, b) <= 0),
  define('gt', '{{#if (gt a b)}}', 'a > b', 2, 2, ([a, b]) => pyCompare(a, b) > 0),
  define('ge', '{{#if (ge a b)}}', 'a >= b', 2, 2, ([a, b]) => pyCompare(a, b) >= 0),
  // and/or/not: booleans from Python truthiness ([] and '' are false).
  define('and', '{{#if (and a b c)}}', 'true when every argument is truthy', 1, 99, (p) => p.every(truthy)),
  define('or', '{{#if (or a b)}}', 'true when any argument is truthy', 1, 99, (p) => p.some(truthy)),
  define('not', '{{#if (not a)}}', 'true when the argument is falsy', 1, 1, ([a]) => !truthy(a)),
  // json: JSON text; `indent=2` pretty-prints.
  define('json', '{{json value indent=2}}', 'the value as JSON', 1, 1, ([v], h) => JSON.stringify(v, null, h.indent === undefined ? undefined : Number(h.indent))),
  define('upper', '{{upper s}}', 'upper case', 1, 1, ([s]) => String(s).toUpperCase()),
  define('lower', '{{lower s}}', 'lower case', 1, 1, ([s]) => String(s).toLowerCase()),
  // int: '9000' → 9000, '3.7' → 3; unparsable → the optional default (0).
  define('int', '{{int s}}', 'an integer (unparsable: 0 or the second argument)', 1, 2, ([v, d]) => toInt(v, d === undefined ? 0 : Number(d))),
  // bool: yes/on/true/1 → true (Ansible's | bool).
  define('bool', '{{bool s}}', 'a boolean the way Ansible reads yes/no/true/1', 1, 1, ([v]) => toBool(v)),
  define('len', '{{len list}}', 'length of a list, string or dict', 1, 1, ([v]) => pyLen(v)),
  // contains/in: the same test, arguments in either order.
  define('contains', '{{#if (contains list item)}}', 'list has the item / string has the substring / dict has the key', 2, 2, ([h, n]) => pyContains(h, n)),
  define('in', '{{#if (in item list)}}', 'item is in the list (or substring / dict key)', 2, 2, ([n, h]) => pyContains(h, n)),
  // concat: lists are joined into one list; anything else into one string.
  define('concat', '{{concat a b}}', 'lists concatenated into a list, otherwise strings concatenated', 1, 99, (p) =>
    p.every(Array.isArray) ? (p as unknown[][]).flat(1) : p.map((x) => String(x)).join(''),
  ),
  define('list', '{{list 16514 16509}}', 'a list of the arguments', 0, 99, (p) => p),
  // without: the list minus every later argument (one value or a list of values).
  define('without', '{{without peers inventory_hostname}}', 'the list without the given items', 1, 99, ([l, ...drop]) => {
    const out = list('without', l);
    const gone = drop.flatMap((d) => (Array.isArray(d) ? d : [d]));
    return out.filter((x) => !gone.some((g) => pyEquals(x, g)));
  }),
  // map_attr: one member of every dict of a list (Jinja's map(attribute=…)); missing → null.
  define('map_attr', "{{map_attr list 'migration_ip'}}", 'the given member of each item of a list', 2, 2, ([l, key]) =>
    list('map_attr', l).map((x) => (x !== null && typeof x === 'object' && Object.prototype.hasOwnProperty.call(x, String(key)) ? (x as Record<string, unknown>)[String(key)] : null)),
  ),
  // hostvars_of: the variables of each named host (e.g. of groups.hypervisors), from `hostvars`.
  define('hostvars_of', '{{hostvars_of groups.hypervisors}}', 'the hostvars of each host named in a list', 1, 1, ([names], _h, root) => {
    const hv = root.hostvars as Record<string, unknown> | undefined;
    return list('hostvars_of', names).map((n) => {
      const v = hv && Object.prototype.hasOwnProperty.call(hv, String(n)) ? hv[String(n)] : undefined;
      if (v === undefined) throw new TypeError(`helper 'hostvars_of': no host named '${String(n)}' in hostvars`);
      return v;
    });
  }),
  define('add', '{{add a b}}', 'a + b', 2, 2, ([a, b]) => num('add', a) + num('add', b)),
  define('sub', '{{sub a b}}', 'a - b', 2, 2, ([a, b]) => num('sub', a) - num('sub', b)),
  define('mul', '{{mul a b}}', 'a * b', 2, 2, ([a, b]) => num('mul', a) * num('mul', b)),
  define('div', '{{div a b}}', 'a / b (integer when both are integers and it divides evenly)', 2, 2, ([a, b]) => {
    const d = num('div', b);
    if (d === 0) throw new TypeError(`helper 'div': division by zero`);
    return num('div', a) / d;
  }),
  // indent: like Jinja, every line but the first gets N spaces (first=true: the first too); blank lines stay blank.
  define('indent', '{{indent text 4 first=true}}', 'indent every line after the first by N spaces', 1, 2, ([t, n], h) => {
    const pad = ' '.repeat(n === undefined ? 4 : toInt(n));
    return String(t)
      .split('\n')
      .map((line, i) => ((i > 0 || h.first === true) && line !== '' ? pad + line : line))
      .join('\n');
  }),
];

/** Handlebars' own block helpers and `lookup`, listed for the docs and the variable check. */
export const BUILTIN_HELPER_DOCS: HelperDoc[] = [
  { name: 'if', usage: '{{#if x}}…{{else}}…{{/if}}', summary: 'block when x is truthy (an undefined x is allowed and false)' },
  { name: 'unless', usage: '{{#unless x}}…{{/unless}}', summary: 'block when x is falsy' },
  { name: 'each', usage: '{{#each list as |item|}}…{{/each}}', summary: 'repeat for each item (@index, @key, @first, @last)' },
  { name: 'with', usage: '{{#with obj}}…{{/with}}', summary: 'block with obj as the context' },
  { name: 'lookup', usage: '{{lookup hostvars host}}', summary: 'member by a computed name, e.g. (lookup hostvars "hv2")' },
];

export const HELPERS: Record<string, Helper> = Object.fromEntries(DEFS.map((d) => [d.name, d.helper]));

export const HELPER_DOCS: HelperDoc[] = [...DEFS.map(({ name, usage, summary }) => ({ name, usage, summary })), ...BUILTIN_HELPER_DOCS];

/** Every name a template may call: never reported as an undefined variable. */
export const HELPER_NAMES: ReadonlySet<string> = new Set([...Object.keys(HELPERS), ...BUILTIN_HELPER_DOCS.map((d) => d.name), 'helperMissing', 'blockHelperMissing']);
