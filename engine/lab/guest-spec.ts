// The lab guest, as text: its /init (a memory dirtier), its domain XML, and the parser of its
// serial log. Pure: unit-tested without a hypervisor.
import { PlayError } from '../errors.js';

export interface GuestSpec {
  name: string;
  memoryMib: number;
  dirtyRateMib: number;
  workingSetMib: number;
  kernel: string;
  initrd: string;
  serialLog: string;
}

export const GUEST_DEFAULTS = { memoryMib: 256, dirtyRateMib: 16, workingSetMib: 64 };

export function checkGuestName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) throw new PlayError(`invalid guest name '${name}': use letters, digits, '_', '.', '-' (at most 63)`);
  return name;
}

/** Bounds checked before any host is touched; the working set and its random source must fit in RAM. */
export function checkGuestSizes(memoryMib: number, dirtyRateMib: number, workingSetMib: number): void {
  const whole = (v: number, what: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new PlayError(`invalid ${what} ${v}: use a whole number ${min}-${max}`);
  };
  whole(memoryMib, 'guest memory (MiB)', 64, 65536);
  whole(dirtyRateMib, 'dirty rate (MiB/s)', 0, 4096);
  whole(workingSetMib, 'working set (MiB)', 1, 65536);
  if (guestNeedsMib(workingSetMib) > memoryMib) {
    throw new PlayError(`working set ${workingSetMib} MiB does not fit a ${memoryMib} MiB guest: it needs at least ${guestNeedsMib(workingSetMib)} MiB (working set + random source + kernel)`);
  }
}

/** Kernel, unpacked initramfs and page cache take ~70 MiB (measured: a 128 MiB guest with 73 MiB of tmpfs is OOM-killed). */
const BASE_MIB = 80;
export const guestNeedsMib = (ws: number): number => ws + sourceMib(ws) + BASE_MIB;

/** The largest working set up to 64 MiB that fits the memory. */
export function defaultWorkingSet(memoryMib: number): number {
  let ws = GUEST_DEFAULTS.workingSetMib;
  while (ws > 1 && guestNeedsMib(ws) > memoryMib) ws--;
  return ws;
}

/** Size of the random buffer the dirtier copies from (a sliding window over it gives new content). */
export const sourceMib = (ws: number): number => Math.min(ws, 32) + 1;

/**
 * /init for busybox: fills a random buffer, then every second copies `rate` MiB of it into the
 * working set (a tmpfs file) from a window that slides one page per pass, so each page gets new
 * content (rewriting the same bytes would show ~0 dirty rate). `rate N` on the serial line changes
 * the rate; every tick prints a counter and the uptime, so the log proves the guest kept running.
 */
export function initScript(): string {
  return `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=95% tmpfs /run
ws=\${dirty_ws_mb:-64}
rate=\${dirty_rate_mb:-16}
src=$(( ws < 32 ? ws + 1 : 33 ))
echo "$rate" > /run/rate
echo "PLAY-GUEST BOOT ws_mb=$ws rate_mb=$rate"
dd if=/dev/urandom of=/run/src bs=1048576 count=$src 2>/dev/null
dd if=/dev/zero of=/run/ws bs=1048576 count=$ws 2>/dev/null
(
  while read -r cmd arg; do
    case "$cmd:$arg" in
      rate:|rate:*[!0-9]*) echo "PLAY-GUEST BAD-RATE $arg" ;;
      rate:*) echo "$arg" > /run/rate; echo "PLAY-GUEST RATE $arg" ;;
    esac
  done
) < /dev/ttyS0 &
P=256; wsp=$((ws * P)); srcp=$((src * P)); chunk=$((srcp / 2))
t=0; pass=0; tick=0
while :; do
  read -r rate < /run/rate
  n=$((rate * P))
  while [ "$n" -gt 0 ]; do
    c=$n
    [ "$c" -gt "$chunk" ] && c=$chunk
    [ $((t + c)) -gt "$wsp" ] && c=$((wsp - t))
    s=$(( (t + pass) % (srcp - c) ))
    dd if=/run/src of=/run/ws bs=4096 count=$c skip=$s seek=$t conv=notrunc 2>/dev/null
    t=$((t + c)); n=$((n - c))
    [ "$t" -ge "$wsp" ] && { t=0; pass=$((pass + 1)); }
  done
  tick=$((tick + 1))
  read -r up idle < /proc/uptime
  echo "PLAY-GUEST TICK $tick up=$up rate_mb=$rate pass=$pass"
  sleep 1
done
`;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/**
 * TCG (`type='qemu'`): KVM cannot run guests here. No disk and no NIC: nothing to share or copy
 * between hosts, so any migration is a pure memory migration. The serial log is appended to (the
 * destination's QEMU continues the same file after a migration).
 */
export function domainXml(g: GuestSpec): string {
  const cmdline = `console=ttyS0 quiet panic=-1 dirty_ws_mb=${g.workingSetMib} dirty_rate_mb=${g.dirtyRateMib}`;
  return `<domain type='qemu'>
  <name>${xmlEscape(checkGuestName(g.name))}</name>
  <memory unit='MiB'>${g.memoryMib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${xmlEscape(g.kernel)}</kernel>
    <initrd>${xmlEscape(g.initrd)}</initrd>
    <cmdline>${xmlEscape(cmdline)}</cmdline>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='pty'>
      <log file='${xmlEscape(g.serialLog)}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

export interface SerialLog {
  /** Lines "PLAY-GUEST BOOT": more than one means the guest restarted. */
  boots: number;
  /** Tick counters in order; they must rise by one each second the guest lives. */
  ticks: number[];
  /** Guest uptime (s) at the last tick. */
  lastUptime: number | null;
  /** Rate (MiB/s) at the last tick, and every rate change the guest confirmed. */
  lastRate: number | null;
  rateChanges: number[];
  /** Ticks that did not follow their predecessor by exactly one (a restart or lost output). */
  gaps: number;
}

export function parseSerialLog(text: string): SerialLog {
  const out: SerialLog = { boots: 0, ticks: [], lastUptime: null, lastRate: null, rateChanges: [], gaps: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^PLAY-GUEST BOOT\b/.test(line)) out.boots++;
    const tick = /^PLAY-GUEST TICK ([0-9]+) up=([0-9.]+) rate_mb=([0-9]+)/.exec(line);
    if (tick) {
      const n = Number(tick[1]);
      const prev = out.ticks[out.ticks.length - 1];
      if (prev !== undefined && n !== prev + 1) out.gaps++;
      out.ticks.push(n);
      out.lastUptime = Number(tick[2]);
      out.lastRate = Number(tick[3]);
    }
    const rate = /^PLAY-GUEST RATE ([0-9]+)/.exec(line);
    if (rate) out.rateChanges.push(Number(rate[1]));
  }
  return out;
}
