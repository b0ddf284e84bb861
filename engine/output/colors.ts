// chalk, but NO_COLOR and non-terminals always win.
import { Chalk, type ChalkInstance } from 'chalk';

export function makeChalk(stream: NodeJS.WriteStream): ChalkInstance {
  const off = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const forced = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0';
  return new Chalk({ level: off ? 0 : forced || stream.isTTY ? 1 : 0 });
}
