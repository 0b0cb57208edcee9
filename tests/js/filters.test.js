// The filter model: text AND facets (OR within one) AND years; counts leave out the facet's own choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyColl } from './helpers.js';
import { Filters } from '../../templates/assets/js/filters.js';
import { fold } from '../../templates/assets/js/rules.js';
import MiniSearch from 'minisearch';
import { TextSearch } from '../../templates/assets/js/textsearch.js';

const matches = (f) => [...f.compute().matches];

test('nothing chosen: everything, inactive', () => {
  const f = new Filters(tinyColl());
  const r = f.compute();
  assert.equal(r.active, false);
  assert.equal(r.mask, null);
  assert.deepEqual([...r.matches], [0, 1, 2, 3, 4, 5]);
});

test('text search folds the query like the titles (titles only until the index arrives)', () => {
  const f = new Filters(tinyColl());
  for (const q of ['strasse', 'STRASSE', 'straße']) { f.q = q; assert.deepEqual(matches(f), [0], q); }
  f.q = 'lodz'; assert.deepEqual(matches(f), [1]);
  f.q = 'ISIK'; assert.deepEqual(matches(f), [2]);
  f.q = 'οδος'; assert.deepEqual(matches(f), [3]);
  f.q = 'viet tieng'; assert.deepEqual(matches(f), [4]);   // every word, any order
  f.q = 'zzz'; assert.deepEqual(matches(f), []);
  f.q = 'stra'; assert.deepEqual(matches(f), [0]);         // the start of a word
  f.q = 'rasse'; assert.deepEqual(matches(f), []);         // never inside a word
  // the ranked index (data/textindex.json) replaces the titles once loaded: best first
  const c = tinyColl();
  const docs = c.title.map((t, i) => [fold(t), fold(i === 5 ? 'harbour view' : `note${i}`)]);
  f.setTextSearch(new TextSearch(MiniSearch, { fields: ['title', 'text'], docs }));
  f.q = 'note5'; assert.deepEqual(matches(f), []);
  f.q = 'harbour'; assert.deepEqual(matches(f), [1, 5]);   // title before other fields
  f.facets.set('kind', new Set(['town']));
  assert.deepEqual(matches(f), [1]);                         // and every other filter still applies
});

test('facets: OR within one, AND across; counts ignore the facet itself', () => {
  const f = new Filters(tinyColl());
  f.facets.set('kind', new Set(['town']));
  assert.deepEqual(matches(f), [1, 2, 4]);
  f.facets.set('constructor', new Set(['a']));
  const r = f.compute();
  assert.deepEqual([...r.matches], [1]);
  assert.deepEqual([...r.facetCounts.get('kind')], [1, 1]);         // among constructor a (0, 1, 5): road 0, town 1
  assert.deepEqual([...r.facetCounts.get('constructor')], [1, 1]);  // among towns (1, 2, 4): a 1, b 2
  f.facets.set('kind', new Set(['town', 'road']));
  assert.deepEqual(matches(f), [0, 1]);  // item 5 has no kind
  f.facets.set('kind', new Set(['no such value']));
  assert.deepEqual(matches(f), []);
});

test('a facet key that is not in the collection is ignored, whatever its name', () => {
  const f = new Filters(tinyColl());
  for (const k of ['__proto__', 'toString', 'hasOwnProperty']) f.facets.set(k, new Set(['x']));
  const r = f.compute();
  assert.equal(r.active, false);
  assert.equal(r.count, 6);
});

test('year ranges, inclusive; items without a year are out', () => {
  const f = new Filters(tinyColl());
  f.years.set('date', [1900, 1906]);
  const r = f.compute();
  assert.deepEqual([...r.matches], [0, 5]);
  assert.deepEqual([...r.yearCounts.get('date')], [[1900, 1], [1905, 1], [1910, 1], [1950, 1], [2000, 1]]);
});

test('every combination of query, facets and years agrees with the definition', () => {
  // a generated collection: 400 items in a shuffled grid, two facets (some items without a
  // value), a year field (some undated), titles of three words from a small vocabulary and,
  // in most, "tree"
  let seed = 7;
  const rand = (k) => { seed = (seed * 16807) % 2147483647; return seed % k; };
  const n = 400, cols = 21, rows = 20, words = ['oak', 'ash', 'elm', 'yew', 'fir', 'bay'];
  const title = Array.from({ length: n }, (_, i) => [0, 1, 2].map(() => words[rand(6)]).join(' ') + (i % 9 ? ' tree' : ''));
  const cellToItem = new Int32Array(cols * rows).fill(-1);
  const cell = new Int32Array(n);
  const free = Array.from({ length: cols * rows }, (_, k) => k);
  for (let i = 0; i < n; i++) { cell[i] = free.splice(rand(free.length), 1)[0]; cellToItem[cell[i]] = i; }
  const facet = (k) => ({ values: Array.from({ length: k }, (_, j) => `v${j}`), codes: Int32Array.from({ length: n }, () => rand(k + 1) - 1) });
  const coll = {
    n, title, cell, cellToItem, cols, rows, xy: new Float32Array(2 * n), cellSize: [8, 8], chunkSize: 1000,
    fields: [], facets: new Map([['a', facet(3)], ['b', facet(5)]]),
    years: new Map([['y', Float32Array.from({ length: n }, () => (rand(5) ? 1900 + rand(30) : NaN))]]),
  };
  const f = new Filters(coll);
  f.setTextSearch(new TextSearch(MiniSearch, { fields: ['title'], docs: title.map((t) => [t]) }));
  const order = [...f.gridOrder];
  for (let trial = 0; trial < 70; trial++) {
    f.q = ['', 'oak', 'e', 'ash elm', 'y', 'tree', 't'][trial % 7];  // "tree": most items
    f.facets.clear(); f.years.clear();
    if (rand(2)) f.facets.set('a', new Set(['v0', 'v2'].slice(0, 1 + rand(2))));
    if (rand(2)) f.facets.set('b', new Set(['v1']));
    if (rand(2)) f.years.set('y', [1905, 1905 + rand(20)]);
    const r = f.compute();
    // the definition: each constraint's pass, item by item
    const ranked = f.q ? [...f.text.search(f.q)] : null;
    const passes = [];
    if (ranked) { const s = new Set(ranked); passes.push(['q', (i) => s.has(i)]); }
    for (const [key, sel] of f.facets) passes.push([key, (i) => { const c = coll.facets.get(key).codes[i]; return c >= 0 && sel.has(`v${c}`); }]);
    for (const [key, [lo, hi]] of f.years) passes.push([key, (i) => coll.years.get(key)[i] >= lo && coll.years.get(key)[i] <= hi]);
    const ok = (i, but = null) => passes.every(([k, p]) => k === but || p(i));
    const want = (ranked || order).filter((i) => ok(i));
    const label = JSON.stringify([f.q, [...f.facets].map(([k, s]) => [k, [...s]]), [...f.years]]);
    assert.equal(r.active, passes.length > 0, label);
    assert.deepEqual([...r.matches], r.active ? want : order, label);
    assert.equal(r.count, r.active ? want.length : n, label);
    if (r.active) assert.deepEqual([...r.mask], Array.from({ length: n }, (_, i) => (ok(i) ? 1 : 0)), label);
    for (const [key, { values, codes }] of coll.facets) {
      const counts = values.map((_, j) => Array.from({ length: n }, (_, i) => i).filter((i) => codes[i] === j && ok(i, key)).length);
      assert.deepEqual([...r.facetCounts.get(key)], counts, `${label} ${key}`);
    }
    const ys = coll.years.get('y'), byYear = new Map();
    for (let i = 0; i < n; i++) if (!Number.isNaN(ys[i]) && ok(i, 'y')) byYear.set(ys[i], (byYear.get(ys[i]) || 0) + 1);
    assert.deepEqual([...r.yearCounts.get('y')].sort((p, q) => p[0] - q[0]), [...byYear].sort((p, q) => p[0] - q[0]), label);
  }
});
