// Search by image: the resampler that makes the model input as libvips does, and the vector maths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taps, boxShrink, resize, flatten, project, scoreAll } from '../../templates/assets/js/resample.js';

const solid = (w, h, [r, g, b, a]) => {
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < px.length; i += 4) { px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = a; }
  return px;
};

test('filter taps stay inside the image and their weights sum to 1', () => {
  for (const [inLen, outLen, up] of [[100, 7, false], [300, 224, false], [5, 224, true], [224, 224, true]]) {
    const t = taps(inLen, outLen, up);
    assert.equal(t.length, outLen);
    for (const { idx, w } of t) {
      assert.ok(idx.every((i) => i >= 0 && i < inLen));
      assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    }
  }
});

test('a box shrink averages premultiplied blocks', () => {
  const px = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]); // 2 x 2: red, blue, 2 clear
  const [out, w, h] = boxShrink(px, 2, 2, 2, 2);
  assert.deepEqual([w, h], [1, 1]);
  assert.deepEqual([...out], [64, 0, 64, 128]);
});

test('a solid image stays solid whether it is shrunk or enlarged', () => {
  for (const [w, h] of [[640, 480], [50, 90], [224, 224], [3, 1000]]) {
    const px = resize(solid(w, h, [200, 100, 50, 255]), w, h, 32);
    assert.equal(px.length, 32 * 32 * 4);
    for (let i = 0; i < px.length; i += 4) assert.deepEqual([px[i], px[i + 1], px[i + 2], px[i + 3]], [200, 100, 50, 255]);
  }
});

test('a horizontal ramp stays a ramp', () => {
  const w = 400, h = 10, px = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([Math.floor((x * 255) / (w - 1)), 0, 0, 255], 4 * (y * w + x));
  const out = resize(px, w, h, 16);
  const row = Array.from({ length: 16 }, (_, x) => out[4 * x]);
  for (let x = 1; x < 16; x++) assert.ok(row[x] > row[x - 1], row.join(','));
  assert.ok(row[0] < 20 && row[15] > 235, row.join(','));
});

test('transparency is flattened on the background', () => {
  const { pixels, rgba } = flatten(new Float32Array([0, 0, 0, 0, 100, 50, 0, 128]), [255, 255, 255]);
  assert.deepEqual([...pixels], [255, 255, 255, 100 + 127, 50 + 127, 127]);
  assert.deepEqual([...rgba], [255, 255, 255, 255, 227, 177, 127, 255]);
});

test('projection is unit length and scores rank the closest vector first', () => {
  const eng = { d: 3, k: 2, mean: new Float32Array([1, 1, 1]), matrix: new Float32Array([1, 0, 0, 0, 1, 0]) };
  const q = project(eng, new Float32Array([4, 5, 9]));   // centred (3, 4, 8) -> (3, 4) -> (0.6, 0.8)
  assert.ok(Math.abs(q[0] - 0.6) < 1e-6 && Math.abs(q[1] - 0.8) < 1e-6);
  const codes = Int8Array.from([127, 0, 76, 102, 0, 127]);  // item 1 is (0.6, 0.8) quantised
  const s = scoreAll({ n: 3, k: 2, codes, scales: new Float32Array([1 / 127, 1 / 127.5, 1 / 127]) }, q);
  assert.ok(s[1] > s[2] && s[1] > s[0]);
  assert.ok(Math.abs(s[1] - 1) < 0.01);
});
