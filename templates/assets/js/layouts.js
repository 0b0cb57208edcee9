// Layouts drawn on a canvas layer over the (hidden) mosaic: every item a square at its own
// position. The similarity map puts items at their t-SNE (or UMAP) positions (items.xy); the
// groups layout gathers them in blocks by a category chosen in the page, in grid order inside each
// block; the timeline, places and --layout layouts come made from the build (collection.json
// `layouts`, docs/site-format.md) and are fitted here. The grid is a layout too while items move
// from or to it (transitions.js); at rest the mosaic itself shows it.
// Far out: one dot per item in its own average colour (a cached overview bitmap at 100k items).
// Closer in: squares in the item's colour; close up: the item's own thumbnail, cut from the
// mosaic's tiles. A bucket grid finds the items in view and under the pointer.
import { drawTimeAxis } from './timeline.js';
import { loadWorld, worldPaths, drawWorld } from './geo.js';

const BUILT_IN = new Map([
  ['grid', { label: 'Grid', short: 'Grid', title: 'Similar images side by side, one cell each' }],
  ['tsne', { label: 'Similarity map', short: 'Map', title: 'Similar images together' }],
  ['groups', { label: 'Groups', short: 'Groups', title: 'Blocks by a category' }],
]);

/**
 * The layouts this collection offers, in the switch's order: grid, map, groups (when a facet can
 * gather them), then the build's (timeline, places, --layout ones). [{name, label, short, title}]
 */
export function layoutChoices(coll, hasGroups) {
  const out = [];
  for (const [name, b] of BUILT_IN) {
    if (name === 'groups' && !hasGroups) continue;
    const title = name === 'tsne' ? `${b.title} (${coll.projection === 'umap' ? 'UMAP' : 't-SNE'})` : b.title;
    out.push({ name, label: b.label, short: b.short, title });
  }
  for (const [name, spec] of coll.layouts || []) {
    if (BUILT_IN.has(name) || !validSpec(spec, coll.n)) continue;
    const label = String(spec.label || name);
    const title = spec.kind === 'timeline' ? `By date (${spec.field})`
      : spec.kind === 'geo' ? 'On a map of the world, by place'
        : `By ${(spec.fields || []).join(' and ')}`;
    out.push({ name, label, short: label.length > 9 ? `${label.slice(0, 8)}…` : label, title });
  }
  return out;
}

/** True when a layout from collection.json has what drawing it needs: a position per item and bounds. */
export function validSpec(spec, n) {
  return !!spec && ArrayBuffer.isView(spec.pos) && spec.pos.length === 2 * n && Array.isArray(spec.bounds)
    && spec.bounds.length === 4 && spec.bounds.every(Number.isFinite) && Number(spec.item) > 0;
}

/** The grid as points: item i at the centre of its cell (cellVp: a cell's size in viewport units). */
export function gridLayout(coll, world, cellVp) {
  const n = coll.n, [w, h] = cellVp;
  const px = new Float64Array(n), py = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = coll.cell[i];
    px[i] = world.x + ((c % coll.cols) + 0.5) * w;
    py[i] = world.y + (Math.floor(c / coll.cols) + 0.5) * h;
  }
  return new PointLayout(coll, { x: world.x, y: world.y, w: coll.cols * w, h: coll.rows * h }, Math.min(w, h), px, py, []);
}

/**
 * A layout made by the build (timeline, geo, custom: docs/site-format.md, `layouts`), fitted
 * into world. Its own units are scaled by one factor, so the timeline's columns and the map's
 * degrees keep their shape; items keep a small gap where they sit in cells.
 */
export function dataLayout(coll, world, spec) {
  const n = coll.n;
  const [bx0, by0, bx1, by1] = spec.bounds;
  const item = Number(spec.item);
  const axisBand = spec.kind === 'timeline' ? Math.max(2, (by1 - by0) * 0.08) : 0;  // room for the axis labels
  const W = Math.max(item, bx1 - bx0), H = Math.max(item, by1 - by0) + axisBand;
  const unit = Math.min((world.w * 0.96) / W, (world.h * 0.96) / H);
  const ox = world.x + (world.w - W * unit) / 2, oy = world.y + (world.h - H * unit) / 2;
  const toX = (x) => ox + (x - bx0) * unit, toY = (y) => oy + (y - by0) * unit;
  const px = new Float64Array(n), py = new Float64Array(n);
  const pos = spec.pos;
  for (let i = 0; i < n; i++) {
    px[i] = toX(Number(pos[2 * i]) + item / 2);
    py[i] = toY(Number(pos[2 * i + 1]) + item / 2);
  }
  const labels = [];
  const u = spec.unplaced;
  if (u && u.count > 0 && Number.isFinite(u.x) && Number.isFinite(u.y)) {
    // the block of items without a place or coordinates: its label just above it
    labels.push({ text: `${u.label || 'not placed'}  ·  ${u.count}`, x: toX(u.x), y: toY(u.y) + item * unit * 0.9,
      w: Math.max(8, (bx1 - u.x)) * unit, unit: item * unit * 2 });
  }
  const extra = { kind: spec.kind };
  if (spec.kind === 'timeline' && Array.isArray(spec.axis)) {
    extra.axis = spec.axis.map((a) => ({
      label: String(a.label), x0: toX(a.x), x1: toX(a.x + a.w), count: a.count | 0, undated: a.from === null,
    }));
    extra.baseline = toY(by1);
  }
  if (spec.kind === 'geo' && Number(spec.cell_deg) > 0) {
    // cell units (lon / cell_deg, -lat / cell_deg) to viewport: x * unit + ox - bx0 * unit
    extra.geo = { cellDeg: Number(spec.cell_deg), scale: unit, dx: ox - bx0 * unit, dy: oy - by0 * unit };
  }
  const rect = { x: ox, y: oy, w: W * unit, h: H * unit };
  const gap = spec.kind === 'custom' ? 1 : 0.9;
  return new PointLayout(coll, rect, item * unit * gap, px, py, labels, extra);
}

/** The similarity map. world: {x, y, w, h}, the viewport rectangle to lay it out in. */
export function tsneLayout(coll, world) {
  const n = coll.n;
  const side = Math.min(world.w, world.h) * 0.94;
  const rect = { x: world.x + (world.w - side) / 2, y: world.y + (world.h - side) / 2, w: side, h: side };
  const size = (side * 0.85) / Math.sqrt(Math.max(1, n)); // item side, viewport units
  const px = new Float64Array(n), py = new Float64Array(n);
  const xy = coll.xy;
  const inner = side - size;
  for (let i = 0; i < n; i++) {
    px[i] = rect.x + size / 2 + xy[2 * i] * inner;
    py[i] = rect.y + size / 2 + xy[2 * i + 1] * inner;
  }
  return new PointLayout(coll, rect, size, px, py, []);
}

/** The facet the groups layout gathers by: the one with the fewest values in [lo, hi], or null. */
export function chooseGroupKey(facets, [lo, hi]) {
  let best = null;
  for (const [key, f] of facets) {
    const k = f.values.length;
    if (k >= lo && k <= hi && (best === null || k < facets.get(best).values.length)) best = key;
  }
  return best;
}

/** Blocks of items, one per value of the facet `key` (any categorical column), largest first, packed in shelves. */
export function groupLayout(coll, world, key) {
  const n = coll.n;
  const f = coll.facets.get(key);
  const groups = new Map(); // code -> items in grid order
  for (const i of coll.cellToItem) {
    if (i < 0) continue;
    const c = f ? f.codes[i] : -1;
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(i);
  }
  const list = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  const W = Math.max(4, Math.ceil(Math.sqrt(n * 1.6)));  // shelf width, in cells
  const gap = 2, labelH = 2;
  let x = 0, y = 0, shelfH = 0, maxX = 0;
  const placed = [];
  for (const [code, items] of list) {
    const bw = Math.min(W, Math.max(1, Math.ceil(Math.sqrt(items.length * 1.4))));
    const bh = Math.ceil(items.length / bw);
    if (x > 0 && x + bw > W) { x = 0; y += shelfH + gap + labelH; shelfH = 0; }
    placed.push({ code, items, x, y: y + labelH, bw, bh });
    x += bw + gap;
    maxX = Math.max(maxX, x - gap);
    shelfH = Math.max(shelfH, bh);
  }
  const totalW = maxX, totalH = y + shelfH + labelH;
  const unit = Math.min((world.w * 0.96) / totalW, (world.h * 0.96) / totalH);
  const ox = world.x + (world.w - totalW * unit) / 2, oy = world.y + (world.h - totalH * unit) / 2;
  const px = new Float64Array(n), py = new Float64Array(n);
  const labels = [];
  for (const b of placed) {
    b.items.forEach((i, k) => {
      px[i] = ox + (b.x + (k % b.bw) + 0.5) * unit;
      py[i] = oy + (b.y + Math.floor(k / b.bw) + 0.5) * unit;
    });
    const name = b.code >= 0 && f ? f.values[b.code] || '(empty)' : '(none)';
    labels.push({ text: `${name}  ·  ${b.items.length}`, x: ox + b.x * unit, y: oy + (b.y - 0.35) * unit, w: b.bw * unit, unit });
  }
  const rect = { x: ox, y: oy, w: totalW * unit, h: totalH * unit };
  return new PointLayout(coll, rect, unit * 0.92, px, py, labels);
}

export class PointLayout {
  /** extra: {kind, axis, baseline} for the timeline, {kind, geo} for places (drawn by stage decorations). */
  constructor(coll, rect, size, px, py, labels, extra = {}) {
    this.coll = coll;
    this.extra = extra;
    const n = coll.n;
    this.rect = rect;
    this.size = size;
    this.px = px;
    this.py = py;
    this.labels = labels;
    // bucket grid (CSR)
    const B = (this.B = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(n / 4)))));
    const counts = new Int32Array(B * B + 1);
    const bucketOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const b = this._bucket(this.px[i], this.py[i]);
      bucketOf[i] = b;
      counts[b + 1]++;
    }
    for (let b = 0; b < B * B; b++) counts[b + 1] += counts[b];
    const fill = counts.slice();
    const items = new Int32Array(n);
    for (let i = 0; i < n; i++) items[fill[bucketOf[i]]++] = i;
    this.start = counts;
    this.items = items;
    this.overview = null;
    this.overviewKey = '';
  }

  _bucket(x, y) {
    const B = this.B;
    const bx = Math.min(B - 1, Math.max(0, Math.floor(((x - this.rect.x) / this.rect.w) * B)));
    const by = Math.min(B - 1, Math.max(0, Math.floor(((y - this.rect.y) / this.rect.h) * B)));
    return by * B + bx;
  }

  /** Items whose square may intersect the viewport rectangle r. Calls fn(i). Returns the count. */
  query(r, fn) {
    const B = this.B, pad = this.size;
    const bx0 = Math.max(0, Math.floor(((r.x - pad - this.rect.x) / this.rect.w) * B));
    const bx1 = Math.min(B - 1, Math.floor(((r.x + r.w + pad - this.rect.x) / this.rect.w) * B));
    const by0 = Math.max(0, Math.floor(((r.y - pad - this.rect.y) / this.rect.h) * B));
    const by1 = Math.min(B - 1, Math.floor(((r.y + r.h + pad - this.rect.y) / this.rect.h) * B));
    let k = 0;
    for (let by = by0; by <= by1; by++) {
      for (let bx = bx0; bx <= bx1; bx++) {
        const b = by * B + bx;
        for (let j = this.start[b]; j < this.start[b + 1]; j++) {
          const i = this.items[j];
          if (fn) fn(i);
          k++;
        }
      }
    }
    return k;
  }

  itemRect(i) {
    const s = this.size;
    return { x: this.px[i] - s / 2, y: this.py[i] - s / 2, w: s, h: s };
  }

  /** The item under viewport point p (topmost: matches above the rest, later above earlier). */
  hit(p, mask) {
    const s = this.size / 2;
    let best = -1, bestScore = -Infinity;
    this.query({ x: p.x, y: p.y, w: 0, h: 0 }, (i) => {
      const dx = Math.abs(this.px[i] - p.x), dy = Math.abs(this.py[i] - p.y);
      if (dx > s || dy > s) return;
      const score = (mask && !mask[i] ? 0 : 1e9) + i;
      if (score > bestScore) { bestScore = score; best = i; }
    });
    return best;
  }

  _overview(colors, mask, maskVersion) {
    const key = `${colors ? 1 : 0}/${maskVersion}`;
    if (this.overview && this.overviewKey === key) return this.overview;
    const K = 2048, KH = Math.max(1, Math.round((K * this.rect.h) / this.rect.w));
    const c = this.overview || document.createElement('canvas');
    c.width = K;
    c.height = KH;
    const ctx = c.getContext('2d');
    ctx.clearRect(0, 0, K, KH);
    const img = ctx.createImageData(K, KH);
    const d = img.data;
    const n = this.coll.n;
    const dot = Math.max(1, Math.round((this.size / this.rect.w) * K));
    const paint = (i, alpha) => {
      const cx = Math.floor(((this.px[i] - this.rect.x) / this.rect.w) * K - dot / 2);
      const cy = Math.floor(((this.py[i] - this.rect.y) / this.rect.w) * K - dot / 2);
      const r = colors ? colors[3 * i] : 150, g = colors ? colors[3 * i + 1] : 150, b = colors ? colors[3 * i + 2] : 150;
      for (let y = Math.max(0, cy); y < Math.min(KH, cy + dot); y++) {
        for (let x = Math.max(0, cx); x < Math.min(K, cx + dot); x++) {
          const o = (y * K + x) * 4;
          d[o] = r; d[o + 1] = g; d[o + 2] = b; d[o + 3] = alpha;
        }
      }
    };
    if (mask) {
      for (let i = 0; i < n; i++) if (!mask[i]) paint(i, 40);
      for (let i = 0; i < n; i++) if (mask[i]) paint(i, 255);
    } else {
      for (let i = 0; i < n; i++) paint(i, 255);
    }
    ctx.putImageData(img, 0, 0);
    this.overview = c;
    this.overviewKey = key;
    return c;
  }

  /**
   * Draw the map. view: {toPx(x, y) -> [px, py] in canvas pixels, ppu: canvas px per viewport
   * unit, rect: visible viewport rectangle}; tiles: CellTiles; colors: Uint8Array or null.
   */
  draw(ctx, view, tiles, colors, mask, maskVersion) {
    const s = this.size * view.ppu; // item side on screen, canvas px
    const visible = this.query(view.rect);
    if (visible > 12000 && s < 4) {
      const ov = this._overview(colors, mask, maskVersion);
      const [x0, y0] = view.toPx(this.rect.x, this.rect.y);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(ov, x0, y0, this.rect.w * view.ppu, this.rect.h * view.ppu);
      return;
    }
    const useThumbs = tiles && s >= 6 && visible <= 5000;
    const level = useThumbs ? tiles.levelFor(s) : 0;
    const drawOne = (i) => {
      if (view.covered && view.covered(i)) return; // drawn from its own pyramid (fullres.js)
      const [x, y] = view.toPx(this.px[i] - this.size / 2, this.py[i] - this.size / 2);
      if (useThumbs && tiles.draw(ctx, i, level, x, y, s, s)) return;
      if (colors) ctx.fillStyle = `rgb(${colors[3 * i]},${colors[3 * i + 1]},${colors[3 * i + 2]})`;
      else ctx.fillStyle = '#8a8f99';
      ctx.fillRect(x, y, Math.max(1, s), Math.max(1, s));
    };
    const list = [];
    this.query(view.rect, (i) => list.push(i));
    list.sort((a, b) => a - b);
    if (mask) {
      ctx.globalAlpha = 0.14;
      for (const i of list) if (!mask[i]) drawOne(i);
      ctx.globalAlpha = 1;
      for (const i of list) if (mask[i]) drawOne(i);
    } else {
      for (const i of list) drawOne(i);
    }
    if (useThumbs) tiles.trimQueue(400);
  }

  /** What lies under the items: the world outline of the places layout (loaded on first use; redraw() then). */
  drawUnder(ctx, view, dpr, alpha = 1, redraw = null) {
    const g = this.extra.geo;
    if (!g) return;
    if (!this.world) {
      if (!this.worldLoading) {
        this.worldLoading = loadWorld().then((lib) => {
          this.world = worldPaths(lib, g.cellDeg);
          if (redraw) redraw();
        }, (err) => console.warn('world outline unavailable', err)).finally(() => { this.worldLoading = null; });
      }
      return;
    }
    drawWorld(ctx, view, g, this.world, dpr, alpha);
  }

  /** True while something this layout draws is still loading (the world outline). */
  get pending() { return !!this.worldLoading; }

  /** What lies over the items: group and block labels, the timeline's axis. */
  drawOver(ctx, view, dpr, alpha = 1) {
    if (alpha <= 0) return;
    ctx.save();
    ctx.globalAlpha = alpha;
    this.drawLabels(ctx, view, dpr);
    ctx.restore();
    if (this.extra.axis) this.drawnAxis = drawTimeAxis(ctx, view, dpr, this.extra, alpha);
  }

  drawLabels(ctx, view, dpr) {
    if (!this.labels.length) return;
    ctx.textBaseline = 'bottom';
    for (const l of this.labels) {
      const px = Math.min(15, Math.max(0, l.unit * view.ppu * 0.9 / dpr));
      if (px < 8) continue;
      const [x, y] = view.toPx(l.x, l.y);
      ctx.font = `600 ${Math.round(px * dpr)}px system-ui, sans-serif`;
      ctx.fillStyle = 'rgba(236, 232, 225, 0.92)';
      ctx.fillText(l.text, x, y, Math.max(40 * dpr, l.w * view.ppu * 1.6));
    }
  }
}
