// Search by image's decisions in the page (templates/assets/js/imagesearch.js): the calibrated
// "no close match" rule (the same as pipeline/image_search.py is_close) and the scope of results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isClose, topItems } from '../../templates/assets/js/imagesearch.js';

const rule = { min_score: 0.7, min_margin: 0.05, sure_score: 0.85 };

test('a close match scores high enough and stands out from the second, unless it is sure', () => {
  assert.equal(isClose(rule, [0.95, 0.94]), true);    // sure
  assert.equal(isClose(rule, [0.8, 0.7]), true);      // stands out
  assert.equal(isClose(rule, [0.8, 0.78]), false);    // two alike: no item is the match
  assert.equal(isClose(rule, [0.69, 0.2]), false);    // too low (an unrelated seascape)
  assert.equal(isClose(rule, [0.75]), true);
  assert.equal(isClose(rule, []), false);
  assert.equal(isClose(null, [0.3]), true);           // a site without the rule: as before
});

test('results: the whole collection, or only what the filters let through', () => {
  const scores = Float32Array.from([0.1, 0.9, 0.5, 0.9, 0.3]);
  assert.deepEqual(topItems(scores, null, 3), { top: [1, 3, 2], pool: 5 });
  assert.deepEqual(topItems(scores, Uint8Array.from([1, 0, 0, 0, 1]), 3), { top: [4, 0], pool: 2 });
});
