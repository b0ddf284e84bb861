// Pure parts of service: what the read script printed, and the commands for each init system.
import { shQuote } from '../../engine/connection/quote.js';

export type InitSystem = 'systemd' | 'sysv' | 'none';

export interface ServiceFacts {
  init: InitSystem;
  /** undefined: the init system cannot tell (an LSB status exit code above 3). */
  running?: boolean;
  enabled?: boolean;
  /** systemd UnitFileState (enabled, disabled, static, masked …), or the sysv status code. */
  detail?: string;
}

/**
 * Output of the read script: `init=…` then `LoadState=… ActiveState=… UnitFileState=…`
 * (systemctl show) or `status=N enabled=0|1` (sysv).
 */
export function parseServiceRead(stdout: string): ServiceFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const init = kv.get('init');
  if (init === 'systemd') {
    if (kv.get('LoadState') !== 'loaded') return { init: 'none', detail: kv.get('LoadState') };
    const active = kv.get('ActiveState') ?? '';
    const file = kv.get('UnitFileState') ?? '';
    return {
      init: 'systemd',
      running: ['active', 'activating', 'reloading'].includes(active),
      enabled: file === 'enabled' || file === 'enabled-runtime',
      detail: file,
    };
  }
  if (init === 'sysv') {
    // LSB: 0 running; 1 dead, pid file left; 2 dead, lock file left; 3 not running; 4+ unknown.
    const code = Number(kv.get('status'));
    return { init: 'sysv', running: code === 0 ? true : code >= 1 && code <= 3 ? false : undefined, enabled: kv.get('enabled') === '1', detail: `status exit ${code}` };
  }
  return { init: 'none' };
}

/** One round trip: which init system, and the unit's or script's state. */
export function serviceReadScript(name: string): string {
  const n = shQuote(name);
  return [
    'if [ -d /run/systemd/system ]; then',
    '  echo init=systemd',
    `  systemctl show -p LoadState -p ActiveState -p UnitFileState -- ${n}`,
    `elif [ -x /etc/init.d/${n} ]; then`,
    '  echo init=sysv',
    `  /etc/init.d/${n} status >/dev/null 2>&1 </dev/null; echo status=$?`,
    // Enabled = a start link in a multi-user runlevel (what update-rc.d makes).
    `  en=0; for f in /etc/rc[2345].d/S[0-9][0-9]${n}; do [ -e "$f" ] && en=1; done; echo enabled=$en`,
    'else',
    '  echo init=none',
    'fi',
  ].join('\n');
}

export type ServiceVerb = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable';

/**
 * The command for a verb. Output goes to a temp file, not the session's pipe: a daemon that
 * inherits the pipe would keep the SSH channel open until it exits.
 */
export function serviceCommand(init: InitSystem, name: string, verb: ServiceVerb): string {
  const n = shQuote(name);
  let cmd: string;
  if (init === 'systemd') cmd = `systemctl ${verb} -- ${n}`;
  else if (verb === 'enable') cmd = `update-rc.d ${n} defaults && update-rc.d ${n} enable`;
  else if (verb === 'disable') cmd = `update-rc.d ${n} disable`;
  else cmd = `/etc/init.d/${n} ${verb}`;
  return `out=$(mktemp) || exit; { ${cmd}; } >"$out" 2>&1 </dev/null; rc=$?; cat "$out"; rm -f "$out"; exit $rc`;
}
