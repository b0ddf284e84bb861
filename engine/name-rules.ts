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

/** MTU: IPv4's minimum 68, and the IP length field's 65535 (what `ip link` accepts at most). */
export function mtuProblem(mtu: number): string | undefined {
  if (mtu < 68 || mtu > 65535) return `MTU must be between 68 and 65535, got ${mtu}`;
  return undefined;
}

/** A TCP/UDP port. */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `must be a port number between 1 and 65535, got ${port}`;
}

/**
 * A user name sudo can switch to: shadow-utils' portable set (letters, digits, _ . -, not leading
 * '-'), at most 32 bytes, or sudo's `#uid`.
 */
export function userNameProblem(name: string): string | undefined {
  if (/^#\d+$/.test(name)) return undefined;
  if (name === '') return 'a user name cannot be empty';
  if (Buffer.byteLength(name) > 32) return `'${name}' is not a user name: longer than 32 bytes`;
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name)) return `'${name}' is not a user name (letters, digits, _ . -, not starting with '-'; or #uid)`;
  return undefined;
}
