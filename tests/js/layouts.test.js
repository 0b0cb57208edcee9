// Layouts from the build (timeline, places, --layout), the layout choices, the timeline's axis
// labels, the panel's year spans, and the arithmetic of animated layout changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyColl } from './helpers.js';
import { layoutChoices, dataLayout, gridLayout, validSpec } from '../../templates/assets/js/layouts.js';
import { pickLabels, yearSpan } from '../../templates/assets/js/timeline.js';
import { ease, lerpInto, zoomAt, Transition } from '../../templates/assets/js/transitions.js';

const WORLD = { x: 0, y: 0, w: 1, h: 1 };

function timelineColl() {
  const c = tinyColl();
  // six items: four dated in two decade columns (x 0..1 and 3..4), two undated (x 6..7)
  c.layouts = new Map([
    ['timeline', {
      kind: 'timeline', label: 'Timeline', field: 'date', unit: 10, item: 1, bounds: [0, 0, 8, 2],
      pos: Int32Array.of(0, 1, 1, 1, 3, 1, 0, 0, 6, 1, 7, 1),
      axis: [{ label: '1900s', from: 1900, to: 1909, x: 0, w: 2, count: 3 },
        { label: '1910s', from: 1910, to: 1919, x: 3, w: 2, count: 1 },
        { label: 'undated', from: null, to: null, x: 6, w: 2, count: 2 }],
    }],
    ['geo', { kind: 'geo', label: 'Places', cell_deg: 2, item: 1, bounds: [-10, -30, 20, 0], pos: new Int32Array(12),
      unplaced: { count: 0, label: 'no place', x: -10, y: null } }],
    ['spread', { kind: 'custom', label: 'spread', fields: ['ux', 'uy'], item: 0.3, bounds: [0, 0, 1.5, 1], pos: new Float32Array(12).fill(0.5),
      unplaced: { count: 2, label: 'not placed', x: 1.2, y: 0 } }],
    ['broken', { kind: 'custom', label: 'broken', item: 1, bounds: [0, 0, 1, 1], pos: Int32Array.of(1, 2) }],  // wrong length: left out
    ['grid', { kind: 'custom', label: 'grid', item: 1, bounds: [0, 0, 1, 1], pos: new Int32Array(12) }],  // a built-in name
  ]);
  c.projection = 'umap';
  return c;
}

test('the layout switch offers the built-in layouts, then every usable layout of the build', () => {
  const c = timelineColl();
  const names = layoutChoices(c, true).map((l) => l.name);
  assert.deepEqual(names, ['grid', 'tsne', 'groups', 'timeline', 'geo', 'spread']);
  assert.deepEqual(layoutChoices(c, false).map((l) => l.name), ['grid', 'tsne', 'timeline', 'geo', 'spread']);
  const byName = new Map(layoutChoices(c, true).map((l) => [l.name, l]));
  assert.match(byName.get('tsne').title, /UMAP/);
  assert.equal(byName.get('geo').label, 'Places');
  assert.equal(byName.get('spread').title, 'By ux and uy');
  assert.equal(validSpec(c.layouts.get('broken'), c.n), false);
  assert.deepEqual(layoutChoices(tinyColl(), false).map((l) => l.name), ['grid', 'tsne']);  // no layouts from the build
});

test('a timeline is fitted whole into the world, one scale for both axes, its axis under the columns', () => {
  const c = timelineColl();
  const L = dataLayout(c, WORLD, c.layouts.get('timeline'));
  const r = L.rect;
  assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= 1 + 1e-9 && r.y + r.h <= 1 + 1e-9);
  const unit = L.px[1] - L.px[0];  // items 0 and 1 sit in neighbouring cells of one row
  assert.ok(unit > 0);
  assert.ok(Math.abs((L.py[0] - L.py[3]) - unit) < 1e-12);  // the same unit down as across
  assert.ok(Math.abs(L.size - 0.9 * unit) < 1e-12);
  // every item's centre lies inside its column's span on the axis, the undated ones in the last
  const ax = L.extra.axis;
  const column = [0, 0, 1, 0, 2, 2];
  column.forEach((k, i) => assert.ok(L.px[i] > ax[k].x0 && L.px[i] < ax[k].x1, `item ${i}`));
  assert.equal(ax[2].undated, true);
  assert.ok(L.extra.baseline > Math.max(...L.py));  // the axis is under the stacks
  assert.ok(r.y + r.h > L.extra.baseline);          // and the fitted rectangle leaves room for its labels
});

test('places carry the cell-to-viewport mapping the world outline is drawn with', () => {
  const c = timelineColl();
  const spec = c.layouts.get('geo');
  spec.pos = Int32Array.of(0, -10, 5, -20, 0, 0, 0, 0, 0, 0, 0, 0);
  const L = dataLayout(c, WORLD, spec);
  const g = L.extra.geo;
  assert.equal(g.cellDeg, 2);
  // the item in cell (0, -10), i.e. longitude 0..2, latitude 20..22: its centre maps through g
  assert.ok(Math.abs(L.px[0] - ((0 + 0.5) * g.scale + g.dx)) < 1e-12);
  assert.ok(Math.abs(L.py[0] - ((-10 + 0.5) * g.scale + g.dy)) < 1e-12);
  // custom layouts: the 'not placed' block is labelled with its count
  const S = dataLayout(c, WORLD, c.layouts.get('spread'));
  assert.equal(S.labels[0].text, 'not placed  ·  2');
});

test('the grid as points puts each item at the centre of its cell', () => {
  const c = tinyColl();
  const L = gridLayout(c, { x: 0, y: 0, w: 1, h: 1 }, [0.25, 0.25]);
  assert.deepEqual([L.px[4], L.py[4]], [0.375, 0.375]);  // cell 4: row 1, column 1
  assert.equal(L.size, 0.25);
});

test('axis labels that would overlap are left out, the last one (undated) always kept', () => {
  assert.deepEqual(pickLabels([10, 60, 110], [30, 30, 30]), [0, 1, 2]);
  assert.deepEqual(pickLabels([10, 30, 50, 70], [30, 30, 30, 30]), [0, 3]);
  assert.deepEqual(pickLabels([10, 20], [40, 40]), [1]);  // no room: only the last
  assert.deepEqual(pickLabels([], []), []);
});

test('the record panel shows the years a vague date was read as', () => {
  const c = tinyColl();
  c.yearRanges = new Map([['date', { 0: [1890, 1895], 1: [null, 1900], 2: [1850, null], 3: [1900, 1900] }]]);
  assert.equal(yearSpan(c, 'date', 0), '1890–1895');
  assert.equal(yearSpan(c, 'date', 1), 'until 1900');
  assert.equal(yearSpan(c, 'date', 2), 'from 1850');
  assert.equal(yearSpan(c, 'date', 3), '');
  assert.equal(yearSpan(c, 'date', 5), '');
  assert.equal(yearSpan(c, 'other', 0), '');
  assert.equal(yearSpan(tinyColl(), 'date', 0), '');  // a collection without year_ranges
});

test('easing starts and lands slowly and is symmetric; positions and zoom interpolate', () => {
  assert.equal(ease(0), 0);
  assert.equal(ease(1), 1);
  assert.equal(ease(0.5), 0.5);
  assert.ok(ease(0.1) < 0.1 && ease(0.9) > 0.9);
  assert.ok(Math.abs(ease(0.3) + ease(0.7) - 1) < 1e-12);
  assert.deepEqual([...lerpInto(new Float64Array(2), [0, 10], [10, 20], 0.25)], [2.5, 12.5]);
  assert.ok(Math.abs(zoomAt(1, 16, 0.5) - 4) < 1e-12);  // geometric: half way in time is 4x, not 8.5x
});

test('a move keeps the open item at a screen point sliding from where it was to where it lands', () => {
  const c = tinyColl();
  const A = gridLayout(c, WORLD, [0.25, 0.25]);
  const B = dataLayout(timelineColl(), WORLD, timelineColl().layouts.get('timeline'));
  const camera = { focus: 2, z0: 1, z1: 4, c0: { x: 0.5, y: 0.5 }, c1: { x: 0.1, y: 0.2 }, ppu0: 1000,
    pc: { x: 640, y: 400 }, s0: { x: 100, y: 50 }, s1: { x: 500, y: 300 } };
  const tr = new Transition(A, B, { start: 0, duration: 600, camera, names: ['grid', 'timeline'] });
  for (const now of [0, 150, 300, 450, 600]) {
    const e = tr.progress(now);
    const v = tr.view();
    const r = tr.itemRect(2);
    const ppu = camera.ppu0 * (v.z / camera.z0);
    // where item 2's centre falls on screen in this view
    const sx = camera.pc.x + (r.x + r.w / 2 - v.x) * ppu, sy = camera.pc.y + (r.y + r.h / 2 - v.y) * ppu;
    assert.ok(Math.abs(sx - (100 + 400 * e)) < 1e-6 && Math.abs(sy - (50 + 250 * e)) < 1e-6, `at ${now} ms`);
  }
  assert.equal(tr.done, true);
  assert.deepEqual(tr.itemRect(5, 1), B.itemRect(5));
  assert.deepEqual(tr.itemRect(5, 0), A.itemRect(5));
  // from the middle of a move, the next starts where the items are
  tr.progress(300);
  const mid = tr.snapshot();
  assert.ok(Math.abs(mid.itemRect(3).x - tr.itemRect(3).x) < 1e-12);
  // without an open item the view goes straight to the new layout's
  const plain = new Transition(A, B, { start: 0, camera: { ...camera, focus: -1 } });
  plain.progress(600);
  assert.deepEqual({ x: plain.view().x, y: plain.view().y }, camera.c1);
  assert.equal(plain.view().z, 4);
});
