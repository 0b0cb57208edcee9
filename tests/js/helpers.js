// Shared by the unit tests: the real rules file, the shared case tables, and a tiny collection
// in the shape data.js makes from data/collection.json.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { useRules } from '../../templates/assets/js/rules.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const readJSON = (rel) => JSON.parse(fs.readFileSync(root + rel, 'utf8'));
export const RULES = readJSON('templates/assets/rules.json');
useRules(RULES);

/**
 * Six items on a 3 x 3 grid (cells 0..5 filled in order, 6..8 empty): titles, a `kind` facet,
 * a facet named `constructor` (column names are data), and a year field.
 */
export function tinyColl() {
  const title = ['Die Straße', 'Łódź harbour', 'Işık', 'ΟΔΟΣ', 'Tiếng Việt', 'Plain'];
  const n = title.length, cols = 3, rows = 3;
  const cell = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const cellToItem = new Int32Array(cols * rows).fill(-1);
  cell.forEach((c, i) => { cellToItem[c] = i; });
  return {
    n, title, cell, cellToItem, cols, rows, xy: new Float32Array(2 * n), cellSize: [8, 8],
    fields: [{ key: 'kind', label: 'Kind', kind: 'category' }, { key: 'constructor', label: 'Constructor', kind: 'category' },
      { key: 'date', label: 'Date', kind: 'year' }],
    facets: new Map([
      ['kind', { values: ['road', 'town'], codes: [0, 1, 1, 0, 1, -1] }],
      ['constructor', { values: ['a', 'b'], codes: [0, 0, 1, 1, -1, 0] }],
    ]),
    years: new Map([['date', Float32Array.of(1900, 1910, NaN, 1950, 2000, 1905)]]),  // NaN: undated, as the page reads a year column
    chunkSize: 1000,
  };
}
