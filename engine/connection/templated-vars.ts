// Connection and become variables may be templates over the host's other variables
// (`ansible_user: "{{ admin_user }}"`, `ansible_become_user: "{{ dba }}"`): Ansible renders them
// before connecting, so we do too, with the host's inventory variables and -e.
import { isTemplated } from '../module/schema.js';
import { PlayError } from '../errors.js';
import { TemplateError, renderString } from '../lang/template.js';

const CONNECTION_VAR = /^(ansible_|play_)|^host_key_checking$/;
/** A variable naming another templated one is rendered again, this many times at most. */
const MAX_DEPTH = 5;

/** The host's variables with every templated connection variable rendered; a PlayError names the variable. */
export function renderConnectionVars(host: string, vars: Record<string, unknown>): Record<string, unknown> {
  const out = { ...vars };
  for (const [k, v] of Object.entries(vars)) {
    if (!CONNECTION_VAR.test(k) || !isTemplated(v)) continue;
    let cur: unknown = v;
    try {
      for (let i = 0; i < MAX_DEPTH && isTemplated(cur); i++) cur = renderString(cur as string, vars, { file: `host ${host}`, field: k });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      throw new PlayError(`host ${host}: ${k}: cannot render ${JSON.stringify(v)}: ${e.variable ? `undefined variable '${e.variable}'` : e.message}`);
    }
    out[k] = cur;
  }
  return out;
}
