// The app state and its change event, and the choices made from it (groups layout, keyboard steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyColl } from './helpers.js';
import { App } from '../../templates/assets/js/app.js';
import { parseHash, toHash } from '../../templates/assets/js/hash.js';
import { chooseGroupKey } from '../../templates/assets/js/layouts.js';
import { cellStep } from '../../templates/assets/js/keyboard.js';
import { facetRange } from '../../templates/assets/js/rules.js';

function recorded(app) {
  const events = [];
  app.addEventListener('change', (e) => events.push(e.detail));
  return events;
}

test('filter changes are announced with the new result', () => {
  const app = new App(tinyColl());
  const ev = recorded(app);
  app.setQuery('strasse');
  assert.deepEqual(ev.map((d) => [d.what, d.push]), [['filters', false]]);
  assert.equal(app.result.count, 1);
  app.toggleFacet('kind', 'road');
  app.toggleFacet('kind', 'road');
  assert.equal(app.filters.facets.has('kind'), false);
  app.setFacet('no such facet', ['x']);  // ignored: no event
  app.setYears('date', [1900, 1901]);
  app.clearFilters();
  assert.deepEqual(ev.map((d) => d.what), ['filters', 'filters', 'filters', 'filters', 'filters']);
  assert.equal(app.result.active, false);
});

test('opening, closing and stepping through matches', () => {
  const app = new App(tinyColl());
  const ev = recorded(app);
  app.open(3, { fly: false });
  app.open(99);
  app.open(-1);
  app.open('2');
  assert.equal(app.item, 3);
  app.close();
  app.close();
  assert.deepEqual(ev.map((d) => [d.what, d.push]), [['item', true], ['item', true]]);
  app.setFacet('kind', ['town']);   // matches 1, 2, 4
  app.step(1);
  assert.equal(app.item, 1);
  app.step(1); app.step(1);
  assert.equal(app.item, 4);
  app.step(1);
  assert.equal(app.item, 1);        // wraps
  app.step(-1);
  assert.equal(app.item, 4);
  assert.equal(app.stepPos, 2);
});

test('a state from the address is applied as a whole, unknown keys left out, without echo', () => {
  const app = new App(tinyColl(), { groupKey: 'constructor' });
  const ev = recorded(app);
  app.apply(parseHash('#item=4&q=tieng&f.kind=town&f.__proto__=x&f.constructor=zzz&y.nope=1-2&layout=groups&v=0.5,0.5,2'), { first: true });
  assert.equal(app.item, 4);
  assert.equal(app.layout, 'groups');
  assert.deepEqual([...app.filters.facets.keys()], ['kind', 'constructor']);
  assert.equal(app.filters.years.size, 0);
  assert.equal(app.result.count, 0);  // constructor=zzz matches nothing
  assert.ok(ev.every((d) => d.fromUrl));
  assert.deepEqual(ev.map((d) => d.what), ['filters', 'layout', 'view', 'item']);
  assert.equal(ev[2].view.z, 2);
  // what the address gets back
  assert.equal(toHash(app.snapshot(null)), '#item=4&q=tieng&f.kind=town&f.constructor=zzz&layout=groups&by=constructor');
  // the groups layout needs a key; a layout the collection lacks is the grid
  const plain = new App(tinyColl());
  plain.setLayout('groups');
  assert.equal(plain.layout, 'grid');
  plain.setLayout('timeline');
  assert.equal(plain.layout, 'grid');
  // a link chooses the column the groups gather by; an unknown one leaves the default
  const by = new App(tinyColl(), { groupKey: 'constructor' });
  by.apply(parseHash('#layout=groups&by=kind'));
  assert.equal(by.groupKey, 'kind');
  by.apply(parseHash('#layout=groups&by=nope'));
  assert.equal(by.groupKey, 'kind');
});

test('choosing the column to group by shows the groups and announces a change even in the groups', () => {
  const app = new App(tinyColl(), { groupKey: 'constructor' });
  const ev = recorded(app);
  app.setGroupKey('kind');
  app.setGroupKey('constructor');
  app.setGroupKey('nope');
  assert.deepEqual(ev.map((d) => [d.what, d.changed]), [['layout', true], ['layout', true]]);
  assert.equal(app.layout, 'groups');
  assert.equal(app.groupKey, 'constructor');
});

test('the groups layout gathers by the facet with the fewest values within the shared range', () => {
  const [lo, hi] = facetRange();
  const f = (k) => ({ values: Array.from({ length: k }, (_, j) => `v${j}`), codes: [] });
  assert.equal(chooseGroupKey(new Map([['a', f(5)], ['b', f(3)], ['c', f(lo - 1)]]), [lo, hi]), 'b');
  assert.equal(chooseGroupKey(new Map([['big', f(hi + 1)], ['__proto__', f(hi)]]), [lo, hi]), '__proto__');
  assert.equal(chooseGroupKey(new Map(), [lo, hi]), null);
});

test('arrow keys step through the grid, skipping empty and filtered-out cells', () => {
  const coll = tinyColl();
  assert.equal(cellStep(coll, null, 0, 1, 0), 1);
  assert.equal(cellStep(coll, null, 2, 1, 0), 2);      // the edge: stays
  assert.equal(cellStep(coll, null, 1, 0, 1), 4);
  assert.equal(cellStep(coll, null, 3, 0, 1), 3);      // below is empty to the edge
  const mask = Uint8Array.from([1, 0, 1, 1, 1, 1]);
  assert.equal(cellStep(coll, mask, 0, 1, 0), 2);      // item 1 is filtered out
});

test('with the text search on a worker, the result follows its ranking and the last query typed wins', async () => {
  const app = new App(tinyColl());
  const asked = [];
  app.filters.setTextSearch({  // a WorkerSearch's shape: search(q) resolves later
    async: true,
    search: (q) => new Promise((resolve) => asked.push([q, resolve])),
  });
  const ev = recorded(app);
  const first = app.setQuery('plain');
  const second = app.setQuery('strasse');
  assert.equal(app.filters.q, '');  // nothing shown yet: no result for a query without its ranking
  asked[1][1](Int32Array.of(0));    // "strasse" answers first
  await second;
  assert.equal(app.filters.q, 'strasse');
  assert.deepEqual(Array.from(app.result.matches), [0]);
  asked[0][1](Int32Array.of(5));    // the older "plain" answers late: ignored
  await first;
  assert.equal(app.filters.q, 'strasse');
  assert.deepEqual(ev.map((d) => d.what), ['filters']);
  await app.setQuery('strasse');     // ranked already: no second request
  assert.equal(asked.length, 2);
});
