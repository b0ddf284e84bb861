// Names and numbers whose rules are known before the run: checked at validation (and again after
// templating), each message saying which rule failed. The value is echoed: none of these is secret.

/** Linux IFNAMSIZ is 16 with the NUL: 15 bytes. The kernel's dev_valid_name refuses '/', ':' and whitespace. */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'an interface name cannot be empty';
  if (bytes > 15) return `'${name}' is not an interface name: ${bytes} bytes, Linux allows at most 15`;
  if (name === '.' || name === '..') return `'${name}' is not an interface name (the kernel refuses '.' and '..')`;
  const bad = /[\s/:\x00-\x1f\x7f]/.exec(name);
  if (bad) return `'${name}' is not an interface name: Linux refuses ${JSON.stringify(bad[0])} (whitespace, '/' and ':')`;
  // Legal for the kernel, but no udev or ip(8) user writes them, and the shell would see them.
  const odd = /[^A-Za-z0-9_.@+-]/.exec(name);
  if (odd) return `'${name}' is not an interface name: ${JSON.stringify(odd[0])} is outside letters, digits and _ . @ + -`;
  return undefined;
}

/**
 * MTU: IPv4's minimum 68; at most loopback's 65536, the largest any Linux device uses (a NIC's own
 * maximum, from `ip -d link`, is checked when the host is read).
 */
export function mtuProblem(mtu: number): string | undefined {
  if (mtu < 68 || mtu > 65536) return `must be between 68 (IPv4's minimum) and 65536 (loopback's, the largest Linux uses), got ${mtu}`;
  return undefined;
}

/** A TCP/UDP port. */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `must be a port number between 1 and 65535, got ${port}`;
}

const ACCOUNT_RULE = "letters, digits, _ . -, not starting with '-', at most 32 bytes";

/** shadow-utils' portable name set, as chown, chgrp and sudo accept it; digits alone are an id. */
function accountNameOk(name: string): boolean {
  return Buffer.byteLength(name) <= 32 && /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name);
}

/** A file owner or group: a name or a numeric id. */
export function accountProblem(name: string): string | undefined {
  return accountNameOk(name) ? undefined : `'${name}' is not a user or group name (${ACCOUNT_RULE}; or a numeric id)`;
}

/** A user sudo can switch to: a name, or sudo's `#uid`. */
export function userNameProblem(name: string): string | undefined {
  return /^#\d+$/.test(name) || accountNameOk(name) ? undefined : `'${name}' is not a user name (${ACCOUNT_RULE}; or #uid)`;
}
