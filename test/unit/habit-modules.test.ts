// The pure parts of lineinfile, blockinfile, package and wait_for, on real files and captured
// real command output (test/fixtures/generic, test/fixtures/package).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { editLines, type LineParams } from '../../modules/lineinfile/parse.js';
import { editBlock, type BlockParams } from '../../modules/blockinfile/parse.js';
import { diffPackages, parsePackages } from '../../modules/package/parse.js';
import { parseWait, waitScript, type WaitForParams } from '../../modules/wait_for/parse.js';
import { lineinfileModule } from '../../modules/lineinfile/index.js';
import { waitForModule } from '../../modules/wait_for/index.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { asText } from './problems.js';

const journald = readFileSync(rootPath('test/fixtures/generic/journald.conf'), 'utf8');
const line = (p: Partial<LineParams>): LineParams => ({ path: '/etc/f', state: 'present', firstmatch: false, ...p });
const block = (p: Partial<BlockParams>): BlockParams => ({ path: '/etc/f', block: '', marker: '# {mark} ANSIBLE MANAGED BLOCK', marker_begin: 'BEGIN', marker_end: 'END', state: 'present', ...p });

describe('lineinfile editLines on a real journald.conf', () => {
  it('replaces the line a regexp finds, in place, and a second edit changes nothing', () => {
    const p = line({ regexp: '^#?Storage=', line: 'Storage=volatile' });
    const r = editLines(journald, p);
    assert.deepEqual(r.changes, [{ path: '/etc/f line', target: { facet: 'content', key: 'line' }, from: '#Storage=auto', to: 'Storage=volatile' }]);
    assert.equal(r.text, journald.replace('#Storage=auto', 'Storage=volatile'));
    assert.deepEqual(editLines(r.text, p).changes, []);
  });

  it('inserts after the last line matching insertafter, or at EOF, and converges', () => {
    const after = editLines(journald, line({ line: 'Compress=no', insertafter: '^\\[Journal\\]' }));
    assert.equal(after.text, journald.replace('[Journal]\n', '[Journal]\nCompress=no\n'));
    const eof = editLines('a\nb', line({ line: 'c' }));
    assert.equal(eof.text, 'a\nb\nc\n', 'a missing final newline is added before the new line');
    assert.deepEqual(editLines(eof.text, line({ line: 'c', regexp: '^x' })).changes, [], 'the exact line satisfies a regexp that matches nothing');
    assert.equal(editLines(null, line({ line: 'first' })).text, 'first\n');
    assert.equal(editLines('a\nb\n', line({ line: 'z', insertbefore: 'BOF' })).text, 'z\na\nb\n');
  });

  it('state absent removes every matching line and keeps CRLF endings', () => {
    const r = editLines('x=1\r\ny=2\r\nx=3\r\n', line({ state: 'absent', regexp: '^x=' }));
    assert.equal(r.text, 'y=2\r\n');
    assert.deepEqual(r.changes.map((c) => c.from), ['x=1', 'x=3']);
  });

  it('validation names bad regexps, a missing line and a line break', () => {
    const problems: SchemaProblem[] = [];
    const p = validateParams(lineinfileModule.params, { path: '/etc/f', regexp: '(' , line: 'a\nb' }, problems) as never;
    assert.deepEqual(problems, []);
    const errs = asText(lineinfileModule.validate!(p));
    assert.ok(errs.some((e) => /^regexp: invalid regular expression '\('/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /^line: must be a single line/.test(e)));
  });
});

describe('blockinfile editBlock', () => {
  it('inserts, replaces in place, converges and removes with its markers', () => {
    const p = block({ block: 'a\nb\n' });
    const ins = editBlock(journald, p);
    assert.equal(ins.text, journald + '# BEGIN ANSIBLE MANAGED BLOCK\na\nb\n# END ANSIBLE MANAGED BLOCK\n');
    assert.deepEqual(editBlock(ins.text, p).changes, []);
    const rep = editBlock(ins.text, block({ block: 'c\n' }));
    assert.equal(rep.text, journald + '# BEGIN ANSIBLE MANAGED BLOCK\nc\n# END ANSIBLE MANAGED BLOCK\n');
    assert.deepEqual(rep.changes, [{ path: "/etc/f block '# BEGIN ANSIBLE MANAGED BLOCK'", target: { facet: 'content', key: "block '# BEGIN ANSIBLE MANAGED BLOCK'" }, from: 'a\nb', to: 'c' }]);
    assert.equal(editBlock(rep.text, block({ state: 'absent' })).text, journald);
    assert.equal(editBlock(rep.text, block({ block: '' })).text, journald, 'an empty block removes it');
  });

  it('own markers and insertbefore BOF', () => {
    const r = editBlock('x\n', block({ block: 'y', marker: '# {mark} mig', insertbefore: 'BOF' }));
    assert.equal(r.text, '# BEGIN mig\ny\n# END mig\nx\n');
  });
});

describe('package parsers on captured dpkg-query / apt-cache policy output', () => {
  const out = readFileSync(rootPath('test/fixtures/package/bash-hello-nosuchpkg-libc6.txt'), 'utf8');
  const info = parsePackages(out, ['bash', 'hello', 'nosuchpkg', 'libc6:amd64']);

  it('reads installed and candidate versions (arch-qualified names too)', () => {
    assert.deepEqual(info, {
      bash: { installed: '5.2.15-2+b8', candidate: '5.2.15-2+b13' },
      hello: { installed: undefined, candidate: '2.10-3' },
      nosuchpkg: { installed: undefined, candidate: undefined },
      'libc6:amd64': { installed: '2.36-9+deb12u14', candidate: '2.36-9+deb12u14' },
    });
  });

  it('present installs what is missing, latest upgrades, absent removes; unknown names fail', () => {
    const present = diffPackages(info, 'present');
    assert.deepEqual(present.changes, [{ path: 'package hello', target: { name: 'hello' }, from: undefined, to: '2.10-3' }]);
    assert.match(present.failures![0], /no package 'nosuchpkg' is known to apt/);
    const latest = diffPackages({ bash: info.bash, 'libc6:amd64': info['libc6:amd64'] }, 'latest');
    assert.deepEqual(latest.changes, [{ path: 'package bash', target: { name: 'bash' }, from: '5.2.15-2+b8', to: '5.2.15-2+b13' }]);
    assert.deepEqual(diffPackages({ bash: info.bash, hello: info.hello }, 'absent').changes, [{ path: 'package bash', target: { name: 'bash' }, from: '5.2.15-2+b8', to: undefined }]);
  });

  it('output without its sections is an error, not an empty answer', () => {
    assert.throws(() => parsePackages('sudo: a password is required\n', ['bash']), /no '--- dpkg' section/);
  });
});

describe('wait_for', () => {
  const p = (x: Partial<WaitForParams>): WaitForParams => ({ host: '127.0.0.1', state: 'started', delay: 0, timeout: 5, sleep: 1, ...x });
  it('waits in one shell loop and reads its verdict', () => {
    assert.match(waitScript(p({ port: 22 })), /ss -Htln 'sport = :22'/);
    assert.match(waitScript(p({ host: '198.18.0.2', port: 22 })), /\/dev\/tcp\/198\.18\.0\.2\/22/);
    assert.match(waitScript(p({ path: '/run/x', state: 'absent' })), /if ! \{ \[ -e '?\/run\/x'? \]; \}; then/);
    assert.deepEqual(parseWait('ready after 3 s\n'), { ready: true, elapsed: 3 });
    assert.deepEqual(parseWait('timeout after 5 s\n'), { ready: false, elapsed: 5 });
    assert.equal(parseWait('garbage'), undefined);
  });
  it('refuses port and path together, and a host that is not a name', () => {
    const errs = asText(waitForModule.validate!(p({ port: 22, path: '/x', host: 'a;b' })));
    assert.ok(errs.includes('port/path: give exactly one of them'));
    assert.ok(errs.some((e) => /host: 'a;b'/.test(e)));
  });
});
