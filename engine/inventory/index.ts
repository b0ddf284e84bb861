// Ansible-compatible inventories: YAML and INI, group_vars/ and host_vars/, patterns.
export { loadInventory } from './load.js';
export { Inventory, MAGIC_VARS, type InventoryHost, type InventoryGroup } from './inventory.js';
export { validatePattern, unmatchedTerms } from './patterns.js';
