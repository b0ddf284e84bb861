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
  /** The QEMU binary libvirt runs: the lab's wrapper (qemuWrapperScript); default libvirt's own. */
  emulator?: string;
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
 *
 * A death must leave its reason on the serial log: the dirtier runs in a subshell, so a shell
 * error ends only that subshell (the error text is on the console) and init then prints
 * `PLAY-GUEST DIRTIER-EXIT` before it exits, which the kernel follows with its own
 * "Attempted to kill init" panic. The rate file is replaced by a rename, never truncated in
 * place, and a read that is not a number keeps the last rate: a tick always carries a rate.
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
      rate:*) echo "$arg" > /run/rate.new && mv /run/rate.new /run/rate && echo "PLAY-GUEST RATE $arg" ;;
    esac
  done
) < /dev/ttyS0 &
dirty() {
  P=256; wsp=$((ws * P)); srcp=$((src * P)); chunk=$((srcp / 2))
  t=0; pass=0; tick=0
  while :; do
    read -r r < /run/rate
    case "$r" in ''|*[!0-9]*) ;; *) rate=$r ;; esac
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
}
( dirty )
echo "PLAY-GUEST DIRTIER-EXIT status=$?"
`;
}

/**
 * The emulator libvirt runs for a lab guest: QEMU with 8 KiB more RAM than libvirt asked for.
 *
 * Why: QEMU 7.2 (Debian 12) loses guest writes during a live migration under TCG. Its dirty-bitmap
 * sync takes a fast path for a RAM block whose size is a multiple of 64 pages (256 KiB; libvirt
 * always rounds to 1 MiB) and clears the migration dirty bits there without resetting TCG's
 * softmmu TLB, so stores through TLB entries already marked dirty are never reported again and
 * the destination gets stale pages (fixed upstream in QEMU 9.0, 03bfc2188f "physmem: Fix
 * migration dirty bitmap coherency with TCG memory access", not in 7.2.x). The lab guest died on
 * the destination with a corrupted kernel (oops in handle_level_irq, LIST_POISON in
 * __run_timers). With a size that is not a multiple of 256 KiB, QEMU syncs that block page by
 * page through cpu_physical_memory_test_and_clear_dirty, which does reset the TLB. QEMU aligns
 * RAM to 8 KiB, so 8 KiB is the smallest step; libvirt's view (and the guest's accounting in
 * play) stays at the size it was given. `-m` and the pc.ram memory backend must agree, so both
 * are rewritten; every other argument passes through unchanged.
 */
export const QEMU_RAM_PAD_KIB = 8;
export function qemuWrapperScript(realQemu: string): string {
  return `#!/bin/sh
# play lab: ${realQemu} with ${QEMU_RAM_PAD_KIB} KiB more guest RAM, so QEMU 7.2 tracks TCG writes
# during live migration (see qemuWrapperScript in engine/lab/guest-spec.ts).
pad=${QEMU_RAM_PAD_KIB}
# libvirt writes -m as MiB ("512") or, with memory hotplug, "size=524288k,slots=..."; anything
# else: no padding at all (-m and the backend size must stay equal).
prev=
for a do
  if [ "$prev" = -m ]; then
    case "$a" in
      ''|*[!0-9]*) case "$a" in size=*k|size=*k,*) v=\${a#size=}; v=\${v%%k*}; case "$v" in ''|*[!0-9]*) pad=0 ;; esac ;; *) pad=0 ;; esac ;;
    esac
  fi
  prev=$a
done
prev=
for a do
  shift
  if [ "$pad" -gt 0 ] && [ "$prev" = -m ]; then
    case "$a" in
      size=*) v=\${a#size=}; v=\${v%%k*}; a="size=$((v + pad))k\${a#size=\${v}k}" ;;
      *) a="$((a * 1024 + pad))k" ;;
    esac
  fi
  if [ "$pad" -gt 0 ]; then
    case "$a" in
      *'"id":"pc.ram"'*'"size":'[0-9]*) v=\${a#*'"size":'}; v=\${v%%[!0-9]*}; a="\${a%%'"size":'*}\\"size\\":$((v + pad * 1024))\${a#*'"size":'$v}" ;;
    esac
  fi
  set -- "$@" "$a"
  prev=$a
done
exec ${realQemu} "$@"
`;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/**
 * TCG (`type='qemu'`): KVM cannot run guests here. No disk and no NIC: nothing to share or copy
 * between hosts, so any migration is a pure memory migration. The serial log is appended to (the
 * destination's QEMU continues the same file after a migration).
 */
export function domainXml(g: GuestSpec): string {
  // loglevel=5 rather than quiet: warnings (WARN splats, clocksource and RCU complaints) reach the
  // serial log too, so a guest that dies leaves its kernel's last words there.
  const cmdline = `console=ttyS0 loglevel=5 panic=-1 dirty_ws_mb=${g.workingSetMib} dirty_rate_mb=${g.dirtyRateMib}`;
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
${g.emulator ? `    <emulator>${xmlEscape(g.emulator)}</emulator>\n` : ''}    <serial type='pty'>
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
  /**
   * Why the guest died, as it said so on its console (kernel timestamps dropped): the kernel's
   * BUG/Oops/general protection fault lines and its panic line, and the init's DIRTIER-EXIT line.
   */
  lastWords: string[];
}

const LAST_WORDS = /^(?:\[ *[0-9.]+\] )?((?:BUG: |Oops: |general protection fault|Kernel panic - not syncing|PLAY-GUEST DIRTIER-EXIT).*)$/;

export function parseSerialLog(text: string): SerialLog {
  const out: SerialLog = { boots: 0, ticks: [], lastUptime: null, lastRate: null, rateChanges: [], gaps: 0, lastWords: [] };
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
    const last = LAST_WORDS.exec(line);
    if (last) out.lastWords.push(last[1]);
  }
  return out;
}
