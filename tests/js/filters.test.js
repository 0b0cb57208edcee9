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
