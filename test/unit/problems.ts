// Module validation problems as the `field: message` lines the tests compare.
import type { ParamProblem } from '../../engine/module/contract.js';

export const asText = (found: Array<ParamProblem | string>): string[] => found.map((p) => (typeof p === 'string' ? p : `${p.field}: ${p.message}`));
