import assert from 'node:assert/strict';
import { evaluate, evaluateCondition, expressionVariables, parseExpression, ExprError, ExprSyntaxError, checkExpression } from '../../engine/lang/expr.js';

const where = { file: 'pb.yml', line: 7, col: 13, task: 'Restart', field: 'when' };
const vars = {
  a: 1,
  zero: 0,
  s: 'eth1',
  empty: '',
  l: [1, 2, 3],
  nil: null,
  d: { k: 'v', n: null, nested: { x: 5 } },
  ok: { changed: false, failed: false, skipped: false, rc: 0 },
  bad: { changed: true, failed: true, skipped: false, rc: 2 },
  skip: { changed: false, failed: false, skipped: true },
  yes_s: 'yes',
  mtu_s: '9000',
  t: true,
};
const ev = (e: string) => evaluate(e, vars, where);
const fails = (e: string, message: string) => assert.throws(() => ev(e), (err: unknown) => err instanceof ExprError && err.message === message);

describe('expr: values and operators (Python semantics)', () => {
  const table: Array<[string, unknown]> = [
    ['1', 1],
    ['2.5', 2.5],
    ["'x'", 'x'],
    ['"a\\tb"', 'a\tb'],
    ['true', true],
    ['True', true],
    ['false', false],
    ['None', null],
    ['none', null],
    ['[1, "a", [2]]', [1, 'a', [2]]],
    ['[]', []],
    ['{"k": 1}', { k: 1 }],
    ['a', 1],
    ['d.k', 'v'],
    ["d['k']", 'v'],
    ['d.nested.x', 5],
    ["d['nested']['x']", 5],
    ['l[0]', 1],
    ['l[-1]', 3],
    ['l.1', 2],
    ['a == 1', true],
    ["a == '1'", false],
    ['a == 1.0', true],
    ['t == 1', true],
    ['l == [1, 2, 3]', true],
    ['d == {"k": "v", "n": none, "nested": {"x": 5}}', true],
    ['a != 2', true],
    ['a < 2', true],
    ['a <= 1', true],
    ['a > 1', false],
    ['a >= 1', true],
    ["'abc' < 'abd'", true],
    ['[1, 2] < [1, 3]', true],
    ['0 < a < 2', true],
    ['0 < a > 2', false],
    ['2 in l', true],
    ['4 not in l', true],
    ["'th' in s", true],
    ["'k' in d", true],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3.5],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['-7 % 3', 2],
    ['"a" + "b"', 'ab'],
    ['[1] + [2]', [1, 2]],
    ['1 ~ "x" ~ true', '1xTrue'],
    ['-a', -1],
    ['"yes" if a else "no"', 'yes'],
    ['"yes" if zero else "no"', 'no'],
    ['a or nope', 1],
    ['zero and nope', 0],
    ['zero or "fallback"', 'fallback'],
  ];
  for (const [e, want] of table) it(e, () => assert.deepEqual(ev(e), want));
});

describe('expr: and / or / not truth table and precedence', () => {
  for (const x of [true, false]) {
    for (const y of [true, false]) {
      const v = { x, y };
      it(`x=${x} y=${y}`, () => {
        assert.equal(evaluate('x and y', v, where), x && y);
        assert.equal(evaluate('x or y', v, where), x || y);
        assert.equal(evaluate('not x', v, where), !x);
        assert.equal(evaluate('not x and y', v, where), !x && y, 'not binds tighter than and');
        assert.equal(evaluate('not (x and y)', v, where), !(x && y));
        assert.equal(evaluate('x or y and not x', v, where), x || (y && !x), 'and binds tighter than or');
        assert.equal(evaluate('not x == y', v, where), !(x === y), 'comparison binds tighter than not');
      });
    }
  }
  it('filters and tests bind tighter than comparisons', () => {
    assert.equal(ev('l | length > 2'), true);
    assert.equal(ev('mtu_s | int + 1'), 9001);
    assert.equal(ev('nope is defined == false'), true, '(nope is defined) == false, like Jinja');
    assert.equal(ev('a is mapping | string'), 'False', 'tests and filters chain left to right');
    assert.equal(ev('not nope is defined'), true);
  });
});

describe('expr: Python truthiness', () => {
  const table: Array<[unknown, boolean]> = [[0, false], [1, true], ['', false], ['no', true], [[], false], [[0], true], [{}, false], [{ a: 1 }, true], [null, false], [0.0, false]];
  for (const [v, want] of table) it(JSON.stringify(v), () => assert.equal(evaluateCondition(['v'], { v }, where), want));
  it('booleans pass through and every condition must hold', () => {
    assert.equal(evaluateCondition([true, 'a == 1'], vars, where), true);
    assert.equal(evaluateCondition(['a == 1', false], vars, where), false);
    assert.equal(evaluateCondition([], vars, where), true);
    assert.equal(evaluate(false, vars, where), false);
  });
});

describe('expr: tests and filters', () => {
  const table: Array<[string, unknown]> = [
    ['a is defined', true],
    ['nope is defined', false],
    ['nope is not defined', true],
    ['nope is undefined', true],
    ['d.missing is defined', false],
    ['nope.deep.path is defined', false],
    ['nil is none', true],
    ['d.n is none', true],
    ['a is none', false],
    ['s is truthy', true],
    ['empty is falsy', true],
    ['ok is changed', false],
    ['bad is changed', true],
    ['bad is failed', true],
    ['ok is failed', false],
    ['ok is succeeded', true],
    ['bad is success', false],
    ['skip is skipped', true],
    ['ok is not skipped', true],
    ['s is string', true],
    ['a is number', true],
    ['l is sequence', true],
    ['d is mapping', true],
    ['4 is even', true],
    ['a is odd', true],
    ['9 is divisibleby 3', true],
    ['9 is divisibleby(4)', false],
    ['s is match("eth")', true],
    ['s is match("th")', false],
    ['s is search("th")', true],
    ['a is in(l)', true],
    ['yes_s | bool', true],
    ["'off' | bool", false],
    ['t | bool', true],
    ['mtu_s | int', 9000],
    ["'3.7' | int", 3],
    ["'x' | int", 0],
    ["'x' | int(5)", 5],
    ["'2.5' | float", 2.5],
    ['l | length', 3],
    ['d | count', 3],
    ['nope | default(5)', 5],
    ['nope | d("x")', 'x'],
    ['a | default(5)', 1],
    ['nil | default(5)', null],
    ['empty | default("e", true)', 'e'],
    ['d.missing.deeper | default(0)', 0],
    ["'AbC' | lower", 'abc'],
    ["'AbC' | upper", 'ABC'],
    ['a | string', '1'],
    ['t | string', 'True'],
    ["'  x ' | trim", 'x'],
    ['l | first', 1],
    ['l | last', 3],
    ["l | join(',')", '1,2,3'],
    ['l | max', 3],
    ['[3, 1, 2] | sort', [1, 2, 3]],
    ['[1, 1, 2] | unique', [1, 2]],
    ["'a b  c' | split", ['a', 'b', 'c']],
    ["s | replace('eth', 'en')", 'en1'],
    ["a == 1 | ternary('y', 'n')", false],
    ["(a == 1) | ternary('y', 'n')", 'y'],
    ['s | ansible.builtin.upper', 'ETH1'],
  ];
  for (const [e, want] of table) it(e, () => assert.deepEqual(ev(e), want));
});

describe('expr: templates inside expressions', () => {
  it('renders {{ }} first (Ansible does), then evaluates', () => {
    assert.equal(ev("'{{ s }}' == 'eth1'"), true);
    assert.equal(ev('{{ a }} == 1'), true);
    assert.deepEqual(ev('{{ l }}'), [1, 2, 3], 'one {{ }} returns its raw value');
  });
});

describe('expr: errors', () => {
  it('names an undefined variable, the task, the field and the expression', () => {
    fails('nope == 1', "pb.yml:7:13: undefined variable 'nope' in task 'Restart' (when: nope == 1)");
    fails('nope', "pb.yml:7:13: undefined variable 'nope' in task 'Restart' (when: nope)");
    fails('d.missing > 1', "pb.yml:7:13: undefined variable 'd.missing' ('d' has no member 'missing') in task 'Restart' (when: d.missing > 1)");
    fails('d.n.x', "pb.yml:7:13: undefined variable 'd.n.x' ('d.n' is None) in task 'Restart' (when: d.n.x)");
    fails('a.b', "pb.yml:7:13: undefined variable 'a.b' ('a' (int) has no member 'b') in task 'Restart' (when: a.b)");
    fails('l[7]', "pb.yml:7:13: undefined variable 'l[7]' ('l' has no member 7) in task 'Restart' (when: l[7])");
    fails('nope is mapping', "pb.yml:7:13: undefined variable 'nope' in task 'Restart' (when: nope is mapping)");
    fails('nope is changed', "pb.yml:7:13: undefined variable 'nope' in task 'Restart' (when: nope is changed)");
    assert.throws(() => ev('nope'), (e: unknown) => e instanceof ExprError && e.variable === 'nope');
  });

  it('refuses what Python refuses', () => {
    fails('mtu_s >= 9000', "pb.yml:7:13: cannot compare str with int in task 'Restart' (when: mtu_s >= 9000)");
    fails('1 in a', "pb.yml:7:13: argument of type 'int' is not iterable in task 'Restart' (when: 1 in a)");
    fails('a / 0', "pb.yml:7:13: division by zero in task 'Restart' (when: a / 0)");
    fails('a is changed', "pb.yml:7:13: 'changed' needs a registered task result, got int 1 in task 'Restart' (when: a is changed)");
    fails('a | nosuch', "pb.yml:7:13: unknown filter 'nosuch'; known filters: abs, bool, count, d, default, first, float, int, join, last, length, list, lower, mandatory, max, min, replace, round, sort, split, string, ternary, trim, unique, upper in task 'Restart' (when: a | nosuch)");
    fails('s | trim(1)', "pb.yml:7:13: filter 'trim' takes 0 arguments, got 1 in task 'Restart' (when: s | trim(1))");
  });

  it('syntax errors carry the column', () => {
    const table: Array<[string, number, string]> = [
      ['a = 1', 3, "unexpected '=' (use '==' to compare)"],
      ['a && b', 3, "unexpected '&' (use 'and', 'or', 'not')"],
      ['a ==', 5, 'unexpected end of expression'],
      ['(a == 1', 8, "expected ')' but found end of expression"],
      ['a == 1)', 7, "unexpected ')'"],
      ["'open", 1, 'unterminated string'],
      ['', 1, 'empty expression'],
      ['a.upper()', 8, 'function and method calls are not supported (use a filter: x | lower)'],
      ['a is', 5, "expected a test name after 'is'"],
      ['1abc', 2, "unexpected 'a' after a number"],
      ['a and or b', 7, "unexpected keyword 'or'"],
    ];
    for (const [e, col, reason] of table) {
      assert.throws(
        () => parseExpression(e),
        (err: unknown) => err instanceof ExprSyntaxError && err.column === col && err.reason === reason && err.message === `invalid expression "${e}" at column ${col}: ${reason}`,
        e,
      );
    }
    fails('a = 1', "pb.yml:7:13: unexpected '=' (use '==' to compare) at column 3 in task 'Restart' (when: a = 1)");
  });

  it('static checks find unknown filters and tests before any host runs', () => {
    assert.deepEqual(checkExpression('a is defined and b | int > 1'), []);
    assert.deepEqual(checkExpression('x is frob'), [`unknown test 'frob' at column 6; known tests: ${'boolean, changed, contains, defined, divisibleby, eq, equalto, even, failed, failure, false, falsy, float, ge, gt, in, integer, iterable, le, lt, mapping, match, ne, none, number, odd, regex, search, sequence, skipped, string, succeeded, success, successful, true, truthy, undefined'}`]);
    assert.deepEqual(checkExpression('x is divisibleby'), ["test 'divisibleby' takes 1 argument(s), got 0 (column 6)"]);
    assert.deepEqual(checkExpression('x =='), ['unexpected end of expression at column 5']);
  });
});

describe('expr: expressionVariables', () => {
  const table: Array<[string, string[]]> = [
    ['a == 1', ['a']],
    ['a.b.c and d[e] in f', ['a', 'd', 'e', 'f']],
    ['x is defined and x > 1', []],
    ['x is not defined or x > 1', []],
    ['x > 1 and x is defined', ['x']],
    ['y | default(1) > z', ['z']],
    ['q if q is defined else r', ['r']],
    ["'{{ t }}' == zz", ['t', 'zz']],
    ['result is changed', ['result']],
    ['[a, b] | length', ['a', 'b']],
    ['true and none', []],
  ];
  for (const [e, want] of table) it(e, () => assert.deepEqual(expressionVariables(e), want));
});
