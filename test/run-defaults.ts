// The run options every test of the runner starts from (a real `play run` without flags);
// tests spread it and set only what they are about.
import type { PlaybookRunOptions } from '../engine/runner/run.js';

export const RUN_DEFAULTS = {
  check: false,
  diff: false,
  tags: [],
  skipTags: [],
  forks: 5,
  extraVars: {},
  detailedExitcodes: false,
  command: 'run',
} satisfies Partial<PlaybookRunOptions>;
