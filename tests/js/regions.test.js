// Named regions in the page (templates/assets/js/regions.js): matching by the search box,
// placement of the labels and their fading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './helpers.js';
import { matchRegions, regionWords, greedyPlace, labelAlpha, placeRegions } from '../../templates/assets/js/regions.js';

const regions = [
  { id: 0, label: 'man, woman', terms: ['man', 'woman', 'family'], count: 75 },
  { id: 1, label: 'Flags', terms: ['flag', 'country'], count: 40 },
  { id: 2, label: 'Café scenes', terms: [], count: 12 },
  { id: 3, label: 'education', terms: ['school'], count: 30 },
].map((r) => ({ ...r, words: regionWords(r) }));

test('regions are found by whole words or their starts, plurals and accents folded', () => {
  const ids = (q) => matchRegions(regions, q).map((r) => r.id);
  assert.deepEqual(ids('flag'), [1]);          // "Flags" folds to flag
  assert.deepEqual(ids('FLAGS'), [1]);
  assert.deepEqual(ids('wom'), [0]);           // the start of a word
  assert.deepEqual(ids('cafe'), [2]);          // any spelling of accents
  assert.deepEqual(ids('cat'), []);            // never inside a word (education)
  assert.deepEqual(ids('family'), [0]);        // the distinguishing terms count too
  assert.deepEqual(ids('man flag'), []);       // every word of the query
  assert.deepEqual(ids('  '), []);
});

test('labels: greedy, in the order given, skipping overlaps and anything outside the view', () => {
  const boxes = [
    { id: 'big', x: 100, y: 100, w: 80, h: 20 },
    { id: 'clash', x: 120, y: 105, w: 80, h: 20 },   // overlaps big: skipped
    { id: 'near', x: 100, y: 130, w: 80, h: 20 },    // 10 px below big: kept
    { id: 'out', x: 5, y: 50, w: 80, h: 20 },        // sticks out on the left: skipped
  ];
  assert.deepEqual(greedyPlace(boxes, 400, 300).map((b) => b.id), ['big', 'near']);
  const kept = greedyPlace(boxes, 400, 300);
  assert.deepEqual(kept[0], { id: 'big', x: 60, y: 90, w: 80, h: 20 });
});

test('labels fade as the visitor zooms in', () => {
  assert.equal(labelAlpha(1), 1);
  assert.equal(labelAlpha(2.5), 1);
  assert.ok(labelAlpha(4) > 0 && labelAlpha(4) < 1);
  assert.equal(labelAlpha(6), 0);
  assert.equal(labelAlpha(50), 0);
});

test('a region sits where its members are: median anchor, bounds without outliers', () => {
  const members = [Array.from({ length: 100 }, (_, k) => k)];
  const rect = (i) => (i === 99 ? { x: 1000, y: 1000, w: 1, h: 1 } : { x: i % 10, y: Math.floor(i / 10), w: 1, h: 1 });
  const [p] = placeRegions(members, rect);
  assert.deepEqual(p.anchor, [5.5, 5.5]);
  assert.ok(p.bounds.x <= 0.5 && p.bounds.x + p.bounds.w >= 9.5 && p.bounds.y + p.bounds.h < 20, JSON.stringify(p.bounds));
});
