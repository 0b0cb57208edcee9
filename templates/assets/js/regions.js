// Named regions of the map (data/regions.json, written by pipeline/regions.py): their labels
// drawn on the grid and the similarity map at overview zoom, a "Regions" list in the sidebar that
// flies to each, and matching of labels by the search box.
// Positions come from the members as the current layout places them (the median of their centres
// for the label, the 2nd..98th percentile for the bounds), so one rule serves the grid, the map
// and any later layout; labels are canvas text (never HTML), placed greedily, largest region first,
// skipping any that would overlap one already placed, and fade out as the visitor zooms in.
import { el, clear, fmt } from './util.js';
import { fold } from './rules.js';
import { tokenize, stem } from './textsearch.js';

export const LABEL_LAYOUTS = new Set(['grid', 'tsne']);  // where regions are areas (elsewhere members scatter)
const FADE = [2.5, 6];       // labels fully shown up to FADE[0] x the fit zoom, gone from FADE[1] x
const QUANTILES = [0.02, 0.98];
const FONT_PX = 13;
const PAD = [7, 4];          // label box padding, CSS px (x, y)
const GAP = 4;               // least free space between two labels, CSS px
const LIST_SHOW = 8;         // regions listed before "Show all"

/** The words a region is found by: its label and its distinguishing terms, folded and stemmed. */
export function regionWords(region) {
  const text = [region.label || '', ...(Array.isArray(region.terms) ? region.terms : [])].join(' ');
  return new Set(tokenize(fold(text)).map(stem));
}

/**
 * Regions whose words match every word of the query (a whole word or the start of one, as the
 * text search matches), largest first. regions: [{id, count, words: Set}].
 */
export function matchRegions(regions, query) {
  const terms = tokenize(fold(query)).map(stem);
  if (!terms.length) return [];
  const words = (r) => [...r.words];
  return regions.filter((r) => terms.every((t) => r.words.has(t) || words(r).some((w) => w.startsWith(t))))
    .sort((a, b) => b.count - a.count || a.id - b.id);
}

/** The q-quantile of sorted numbers. */
function quantile(sorted, q) {
  if (!sorted.length) return 0;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[k];
}

/**
 * Label anchor and bounds of each region from its members' rectangles in one layout.
 * rectOf(i) -> {x, y, w, h}; members: item lists. Returns [{anchor: [x, y], bounds: {x, y, w, h}}].
 */
export function placeRegions(members, rectOf) {
  return members.map((items) => {
    const xs = [], ys = [];
    let size = 0;
    for (const i of items) {
      const r = rectOf(i);
      xs.push(r.x + r.w / 2);
      ys.push(r.y + r.h / 2);
      size = Math.max(size, r.w, r.h);
    }
    xs.sort((a, b) => a - b);
    ys.sort((a, b) => a - b);
    const x0 = quantile(xs, QUANTILES[0]) - size / 2, x1 = quantile(xs, QUANTILES[1]) + size / 2;
    const y0 = quantile(ys, QUANTILES[0]) - size / 2, y1 = quantile(ys, QUANTILES[1]) + size / 2;
    return { anchor: [quantile(xs, 0.5), quantile(ys, 0.5)], bounds: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } };
  });
}

/**
 * Greedy label placement: boxes (CSS px, centred on their anchors) in the order given, each kept
 * only if it lies inside the view and clear of every box kept before it.
 * boxes: [{id, x, y, w, h}] (x, y: centre). Returns the kept boxes as {id, x, y, w, h} (x, y: top left).
 */
export function greedyPlace(boxes, width, height) {
  const kept = [];
  for (const b of boxes) {
    const r = { id: b.id, x: b.x - b.w / 2, y: b.y - b.h / 2, w: b.w, h: b.h };
    if (r.x < 0 || r.y < 0 || r.x + r.w > width || r.y + r.h > height) continue;
    const clash = kept.some((k) => r.x < k.x + k.w + GAP && k.x < r.x + r.w + GAP && r.y < k.y + k.h + GAP && k.y < r.y + r.h + GAP);
    if (!clash) kept.push(r);
  }
  return kept;
}

/** How visible labels are at a zoom of `ratio` times the layout's fit zoom: 1, fading to 0. */
export function labelAlpha(ratio) {
  if (!(ratio > 0)) return 1;
  const t = (Math.log(ratio) - Math.log(FADE[0])) / (Math.log(FADE[1]) - Math.log(FADE[0]));
  return Math.min(1, Math.max(0, 1 - t));
}

export class Regions {
  /** data: the parsed data/regions.json; viewer: the Viewer; app: the App. */
  constructor(data, app, viewer) {
    this.app = app;
    this.viewer = viewer;
    const n = app.coll.n;
    const list = Array.isArray(data && data.regions) ? data.regions : [];
    const of = Array.isArray(data && data.items) ? data.items : [];
    const members = list.map(() => []);
    const index = new Map(list.map((r, k) => [r.id, k]));
    for (let i = 0; i < Math.min(n, of.length); i++) {
      const k = index.get(of[i]);
      if (k !== undefined) members[k].push(i);
    }
    this.list = list.map((r, k) => ({
      id: r.id, label: String(r.label || `Region ${k + 1}`), count: members[k].length,
      words: regionWords(r), members: members[k],
    })).filter((r) => r.count > 0);
    this.list.sort((a, b) => b.count - a.count || a.id - b.id);
    this.places = new Map();   // layout object (null: the grid) -> placeRegions result
    this.placed = [];          // labels drawn in the last frame: {id, x, y, w, h} in CSS px (for tests)
    this.alpha = 0;
  }

  /** Anchors and bounds in the viewer's current layout, at rest (computed once per layout). */
  _places() {
    const v = this.viewer, L = v.points();
    const key = L || 'grid';
    if (!this.places.has(key)) {
      const rectOf = L ? (i) => L.itemRect(i) : (i) => v.cellRect(i);
      this.places.set(key, placeRegions(this.list.map((r) => r.members), rectOf));
    }
    return this.places.get(key);
  }

  /** The layout's whole rectangle (viewport units): the mosaic, or the points layout's rect. */
  _layoutRect() {
    const L = this.viewer.points();
    return L ? L.rect : this.viewer.world;
  }

  /** The painter for the viewer's overlay canvas: region labels, when the layout has regions. */
  paint(ctx, view, dpr) {
    this.placed = [];
    const v = this.viewer;
    if (!LABEL_LAYOUTS.has(v.layout) || !this.list.length || !v.world || v.transition) return;
    const W = v.el.clientWidth, H = v.el.clientHeight;
    const rect = this._layoutRect();
    const fit = Math.min(Math.max(1, W - 56) / rect.w, Math.max(1, H - 56) / rect.h);
    const alpha = (this.alpha = labelAlpha(view.ppu / dpr / fit));
    if (alpha <= 0.01) return;
    const places = this._places();
    ctx.save();
    ctx.font = `600 ${Math.round(FONT_PX * dpr)}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    const boxes = this.list.map((r, k) => {
      const [px, py] = view.toPx(...places[k].anchor);
      const w = ctx.measureText(r.label).width / dpr + 2 * PAD[0];
      return { id: r.id, k, x: px / dpr, y: py / dpr, w, h: FONT_PX + 2 * PAD[1] + 2 };
    });
    this.placed = greedyPlace(boxes, W, H);
    const byId = new Map(this.list.map((r) => [r.id, r]));
    for (const b of this.placed) {
      const r = byId.get(b.id);
      ctx.globalAlpha = alpha * 0.82;
      ctx.fillStyle = '#0b0c0f';
      roundRect(ctx, b.x * dpr, b.y * dpr, b.w * dpr, b.h * dpr, 6 * dpr);
      ctx.fill();
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = 'rgba(232, 194, 122, 0.55)';
      ctx.lineWidth = dpr;
      ctx.stroke();
      ctx.fillStyle = '#f3ead9';
      ctx.fillText(r.label, (b.x + b.w / 2) * dpr, (b.y + b.h / 2 + 0.5) * dpr);
    }
    ctx.restore();
  }

  /** Fly to region id: its bounds fill the view (on the grid when the layout has no regions). */
  flyTo(id) {
    const v = this.viewer;
    if (!LABEL_LAYOUTS.has(this.app.layout)) this.app.setLayout('grid');
    const k = this.list.findIndex((r) => r.id === id);
    if (k < 0) return;
    const go = () => {
      if (v.transition) { v.afterFrame(go); return; }   // a layout switch moves the camera until it lands
      const b = this._places()[k].bounds;
      const pad = Math.max(b.w, b.h) * 0.08;
      v.osd.viewport.fitBounds(new OpenSeadragon.Rect(b.x - pad, b.y - pad, b.w + 2 * pad, b.h + 2 * pad));
    };
    v.afterFrame(go);
  }

  /** Regions matching a query, largest first. */
  match(query) {
    return matchRegions(this.list, query);
  }

  /** The sidebar's "Regions" list: each region with its count (the largest first); a click flies there. */
  renderList(section, list, onPick, { show = LIST_SHOW } = {}) {
    clear(list);
    this.list.forEach((r, k) => {
      const b = el('button', { class: 'region-btn', attrs: { type: 'button', 'data-region': r.id } },
        el('span', { class: 'region-name', text: r.label }), el('span', { class: 'facet-count', text: fmt(r.count) }));
      b.addEventListener('click', () => { this.flyTo(r.id); onPick && onPick(r); });
      list.append(el('li', { attrs: { hidden: k >= show } }, b));
    });
    section.querySelector('.region-more')?.remove();
    if (this.list.length > show) {
      const more = el('button', { class: 'linklike facet-more region-more', text: `Show all ${fmt(this.list.length)}`, attrs: { type: 'button' } });
      more.addEventListener('click', () => {
        for (const li of list.children) li.hidden = false;
        more.remove();
      });
      section.append(more);
    }
    section.hidden = !this.list.length;
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

/** Fetch data/regions.json (null when the site has none or it cannot be read). */
export async function loadRegions(coll) {
  const url = coll.raw && coll.raw.regions;
  if (!url || typeof url !== 'string') return null;
  try {
    const res = await fetch(url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return await res.json();
  } catch (err) {
    console.warn('regions unavailable', err);
    return null;
  }
}
