// `play help limits`: the concurrency keywords (throttle, limits, loop_control.parallel/break_when).

export function limitsHelpLines(): string[] {
  return [
    'Concurrency keywords of a task (docs/concurrency.md):',
    '',
    '  throttle: N                  at most N runs of this task at once, over all hosts and loop items',
    '  limits:                      keyed caps shared by EVERY task, host and loop item naming the same key:',
    '    - { key: "src-{{inventory_hostname}}", max: 2 }   at most 2 holders of src-hv1 at once',
    '    - { key: "dst-{{item.to}}", max: 1 }              at most 1 holder of dst-hv2 at once',
    '    - { key: cluster, max: "{{parallel_per_cluster}}" }',
    '  loop_control:',
    '    parallel: N                loop items of one host run up to N at once (default 1), under the limits',
    '    break_when: EXPR           once true for an item (its result under the register name),',
    '                               no further item starts; the items not started are reported skipped',
    '',
    'An item starts only when every key it names has room (all are taken at once, never some while',
    'waiting for the others). key and max are templates rendered per host and loop item; a max that is',
    'not a positive integer fails the task with the file:line:col of the limit. The `forks` cap',
    '(hosts at once) still applies on top.',
  ];
}
