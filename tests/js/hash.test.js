// The address: parsing is total (anything malformed is dropped) and keys are data, never properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, toHash, emptyState } from '../../templates/assets/js/hash.js';

test('a full state survives the round trip through the hash', () => {
  const s = {
    item: 12, q: 'die straße', layout: 'tsne', view: { x: 0.5, y: 0.25, z: 3.2 },
    facets: new Map([['category', ['animals', 'food & drink']], ['constructor', ['x']]]),
    years: new Map([['date', [1900, 1910]]]),
  };
  const back = parseHash(toHash(s));
  assert.equal(back.item, 12);
  assert.equal(back.q, 'die straße');
  assert.equal(back.layout, 'tsne');
  assert.deepEqual(back.view, { x: 0.5, y: 0.25, z: 3.2 });
  assert.deepEqual([...back.facets], [['category', ['animals', 'food & drink']], ['constructor', ['x']]]);
  assert.deepEqual([...back.years], [['date', [1900, 1910]]]);
  assert.equal(toHash(emptyState()), '');
});

test('facet and year keys named like Object properties stay plain keys', () => {
  const s = parseHash('#f.constructor=x&f.__proto__=y&f.__proto__=z&f.toString=1&y.__proto__=1-2&y.hasOwnProperty=3-4');
  assert.deepEqual([...s.facets.keys()], ['constructor', '__proto__', 'toString']);
  assert.deepEqual(s.facets.get('__proto__'), ['y', 'z']);
  assert.deepEqual(s.years.get('__proto__'), [1, 2]);
  assert.equal(Object.getPrototypeOf(s), Object.prototype);
  assert.equal({}.x, undefined);  // nothing leaked onto Object.prototype
  assert.match(toHash(s), /f\.__proto__=y&f\.__proto__=z/);
});

test('malformed parts are dropped', () => {
  const s = parseHash('#item=abc&layout=sp%20ral&v=1,2&y.date=soon&f.=x&y.=1-2&by=kind');
  assert.deepEqual(s, emptyState());
  // a layout name is kept when well formed (the app keeps only those the collection has); by= goes with groups
  assert.deepEqual([parseHash('#layout=spread').layout, parseHash('#layout=groups&by=kind').groupBy], ['spread', 'kind']);
  assert.equal(toHash({ ...emptyState(), layout: 'groups', groupBy: 'kind' }), '#layout=groups&by=kind');
  assert.equal(parseHash('#item=99999999999999999999').item, null);
  assert.equal(parseHash('#v=1,2,0').view, null);
  assert.equal(parseHash('#v=1,2,NaN').view, null);
  assert.equal(parseHash(undefined).item, null);
});
