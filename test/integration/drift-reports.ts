// The reports of a real check, read by consumers other than play: ajv (docs/report-schema.json),
// promtool, xmllint (Jenkins xunit's junit-10.xsd) and python3-junitparser.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rootPath } from '../../engine/paths.js';
import type { JsonReport } from '../../engine/report/index.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js').default as new (o: object) => {
  compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] | null };
};
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const validateJson = new Ajv2020({ allErrors: true, strict: true, formats: { 'date-time': DATE_TIME } }).compile(
  JSON.parse(readFileSync(rootPath('docs/report-schema.json'), 'utf8')),
);
const XSD = rootPath('test/fixtures/report/junit-10.xsd');

export interface ReportPaths {
  json: string;
  junit: string;
  prometheus: string;
}

export interface JunitCase {
  name: string;
  classname: string;
  results: Array<{ kind: string; type: string | null; message: string | null; text: string | null }>;
}
export interface JunitSuite {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  cases: JunitCase[];
}

const JUNITPARSER = `
import json, sys
from junitparser import JUnitXml
print(json.dumps([{'name': s.name, 'tests': s.tests, 'failures': s.failures, 'errors': s.errors, 'skipped': s.skipped,
  'cases': [{'name': c.name, 'classname': c.classname,
             'results': [{'kind': type(r).__name__, 'type': r.type, 'message': r.message, 'text': r.text} for r in c.result]}
            for c in s]} for s in JUnitXml.fromfile(sys.argv[1])]))
`;

export interface ReadReports {
  json: JsonReport;
  junit: JunitSuite[];
  /** `name{a="x",b="y"}` (labels as written) → value */
  prometheus: Map<string, number>;
}

/** Checks each file with its consumer, then returns what the consumers read. */
export function readReports(p: ReportPaths): ReadReports {
  const json = JSON.parse(readFileSync(p.json, 'utf8')) as JsonReport;
  assert.ok(validateJson(json), `${p.json} does not match docs/report-schema.json: ${JSON.stringify(validateJson.errors, null, 2)}`);

  const prom = readFileSync(p.prometheus, 'utf8');
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: prom, encoding: 'utf8' });
  assert.equal(promtool.status, 0, `promtool check metrics ${p.prometheus}: ${promtool.stdout}${promtool.stderr}`);

  const xmllint = spawnSync('xmllint', ['--noout', '--schema', XSD, p.junit], { encoding: 'utf8' });
  assert.equal(xmllint.status, 0, `xmllint ${p.junit}: ${xmllint.stderr}`);
  const junit = JSON.parse(execFileSync('/usr/bin/python3', ['-c', JUNITPARSER, p.junit], { encoding: 'utf8' })) as JunitSuite[];

  const prometheus = new Map<string, number>();
  for (const line of prom.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    prometheus.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { json, junit, prometheus };
}

/** Per host: the value of a per-host family (`play_drift_changes` …) in inventory order. */
export function perHost(prom: Map<string, number>, family: string, hosts: string[], playbook: string): number[] {
  return hosts.map((h) => {
    const v = prom.get(`${family}{host="${h}",playbook="${playbook}"}`);
    assert.notEqual(v, undefined, `${family} for ${h} missing`);
    return v!;
  });
}

/** The `play_task_in_sync` series that are 0: [host, task]. */
export function tasksNotInSync(prom: Map<string, number>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [series, v] of prom) {
    const m = /^play_task_in_sync\{host="([^"]*)",play="[^"]*",task="([^"]*)",/.exec(series);
    if (m && v === 0) out.push([m[1], m[2]]);
  }
  return out;
}
