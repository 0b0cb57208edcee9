// Full resolution. Each item with a pyramid has a IIIF Image API level-0 service in
// iiif/<key>/ (docs/site-format.md). Here:
// - DeepZoom: once the view zooms past the mosaic's native resolution (one mosaic pixel per
//   device pixel), the items in view are drawn from their own pyramids in place of their cells
//   (an OpenSeadragon tiled image each, faded in once loaded), at most `max` at once (LRU);
//   and the zoom limit follows the images in view: never past 100 % (one image pixel per CSS
//   pixel) of the largest, items without a pyramid keeping the mosaic's limit.
// - FullView: one item alone in a dialog, zoomable to its full resolution (#item=12&full=1).
// - manifestLink: the IIIF drag-and-drop link to the item's Manifest.
import { getItem } from './data.js';
import { el, isPhone, reducedMotion } from './util.js';
import { safeUrl } from './rules.js';

const FADE_MS = 220;
export const MOSAIC_RATIO = 3;     // CSS px per mosaic px at the mosaic's zoom limit (as before pyramids)
const MAX_LOADING = 4;             // services being opened at once
const MANY = 400;                  // more items in view than this: the limit is the collection's

/** The info.json of a service with its id made the folder it was read from (ids are absolute:
 * the published address, which need not be where this page is served). */
export function localService(info, infoUrl) {
  if (!info || typeof info !== 'object' || !(info.width > 0) || !(info.height > 0)) {
    throw new Error(`${infoUrl}: not an image service`);
  }
  const s = { ...info, id: infoUrl.replace(/\/info\.json$/, '') };
  delete s['@id'];
  return s;
}

export async function loadService(infoUrl) {
  const res = await fetch(infoUrl, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${infoUrl}: HTTP ${res.status}`);
  return localService(await res.json(), infoUrl);
}

/** The item's image service URL (relative, same site) from its JSON, or null. */
export function serviceUrl(item) {
  const info = item && item.image && typeof item.image.info === 'string' ? item.image.info : '';
  const safe = info && safeUrl(info);
  return safe && !/^[a-z]+:|^\/\//i.test(safe) && /\/info\.json$/.test(safe) ? safe : null;
}

/** Where an image of w x h goes in rectangle r, letterboxed like its mosaic cell (contain). */
export function containRect(r, w, h) {
  const s = Math.min(r.w / w, r.h / h);
  const dw = w * s, dh = h * s;
  return { x: r.x + (r.w - dw) / 2, y: r.y + (r.h - dh) / 2, w: dw, h: dh };
}

/** Where an image of w x h goes in rectangle r as its mosaic cell shows it: letterboxed ('contain'),
 * or ('fill') scaled to cover r and centred, with clip: the part of the image (its pixels) that r shows. */
export function placeRect(r, w, h, fit) {
  if (fit !== 'fill') return containRect(r, w, h);
  const s = Math.max(r.w / w, r.h / h);
  const dw = w * s, dh = h * s;
  const clip = { x: (dw - r.w) / 2 / s, y: (dh - r.h) / 2 / s, w: r.w / s, h: r.h / s };
  return { x: r.x + (r.w - dw) / 2, y: r.y + (r.h - dh) / 2, w: dw, h: dh, clip };
}

const osdRect = (c) => (c ? new OpenSeadragon.Rect(c.x, c.y, c.w, c.h) : null);

/** The most items drawn from their pyramids at once: fewer on a phone. */
export const deepZoomBudget = () => (isPhone() ? 8 : 24);

/** Rectangles a and b ({x, y, w, h}) overlap by more than a sliver (touching is not enough). */
function overlaps(a, b) {
  const e = 1e-9 * Math.max(a.w, b.w);
  return a.x < b.x + b.w - e && a.x + a.w > b.x + e && a.y < b.y + b.h - e && a.y + a.h > b.y + e;
}

/**
 * Per-item pyramids in the main viewer. viewer: the Viewer (viewer.js): itemRect(i), points(),
 * ppu(), cellVp, world, mask. Call update() on every frame the viewer draws.
 *
 * An item's entry keeps its opened service (an LRU of 4 x max); it is drawn (an OpenSeadragon
 * tiled image, "attached") only while in view, at most max at once, nearest the centre first.
 * Leaving the view detaches it (its tiles stay in OpenSeadragon's cache as a zombie, so coming
 * back is quick). OpenSeadragon redraws every frame while a visible image draws nothing, so an
 * image out of view is never left in the world.
 */
export class DeepZoom {
  constructor(viewer, coll, { max = deepZoomBudget() } = {}) {
    this.v = viewer;
    this.coll = coll;
    this.max = max;
    this.full = [];  // each item's longest side, 0 = none: known once the collection's columns are in
    this.fullMax = 0;
    Promise.resolve(coll.complete).then(() => {
      const iiif = coll.raw && coll.raw.iiif;
      if (!iiif || !ArrayBuffer.isView(iiif.full)) return;
      this.full = iiif.full;
      this.fullMax = this.full.reduce((a, b) => Math.max(a, b || 0), 0);
    });
    this.entries = new Map();  // item -> {i, src, w, h, img, rect, shown, fade, used, gone}
    this.failed = new Set();
    this.loading = 0;
    this.tick = 0;
    this.sources = new WeakSet();  // our tile sources: the navigator does not mirror them
    this.requested = new Set();    // items whose pyramid was ever asked for (tests, console)
    viewer.osd.addHandler('tile-load-failed', (ev) => {
      // a pyramid with a missing tile would never finish loading: its cell stays instead
      for (const e of this.entries.values()) {
        if (e.img === ev.tiledImage) { this.failed.add(e.i); this._detach(e); this.entries.delete(e.i); }
      }
    });
    const nav = viewer.osd.navigator;
    if (nav) {
      nav.world.addHandler('add-item', (e) => {
        if (this.sources.has(e.item.source)) nav.world.removeItem(e.item);
      });
    }
  }

  hasPyramid(i) { return (this.full[i] || 0) > 0; }

  /** Items whose rectangles meet the viewport rectangle r (grid: by cells; layouts: their index);
   * null when very many would. */
  itemsIn(r) {
    const out = [];
    const L = this.v.points();
    if (L) {
      if (L.query(r) > 4 * MANY) return null;
      L.query(r, (i) => { if (overlaps(this.v.itemRect(i), r)) out.push(i); });
      return out;
    }
    const { cols, rows, cellToItem } = this.coll;
    const [w, h] = this.v.cellVp, o = this.v.world;
    const c0 = Math.max(0, Math.floor((r.x - o.x) / w)), c1 = Math.min(cols - 1, Math.floor((r.x + r.w - o.x) / w));
    const r0 = Math.max(0, Math.floor((r.y - o.y) / h)), r1 = Math.min(rows - 1, Math.floor((r.y + r.h - o.y) / h));
    if ((c1 - c0 + 1) * (r1 - r0 + 1) > 4 * MANY) return null;
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const i = cellToItem[row * cols + col];
        if (i >= 0 && overlaps(this.v.itemRect(i), r)) out.push(i);
      }
    }
    return out;
  }

  /** How many times the mosaic's native resolution an item of this side (viewport units) is shown at. */
  _overNative(side) {
    const dpr = window.devicePixelRatio || 1;
    return (side * this.v.ppu(true) * dpr) / Math.max(this.coll.cellSize[0], this.coll.cellSize[1]);
  }

  update() {
    const b = this.v.osd.viewport.getBoundsWithMargins(true);  // all the canvas shows
    const view = { x: b.x, y: b.y, w: b.width, h: b.height };
    const inView = this.itemsIn(view);
    this._limit(inView);
    const over = this._overNative(this.v.itemRect(0).w);
    const tick = ++this.tick;
    const want = new Set();
    if (inView && over > 1) {
      const cx = view.x + view.w / 2, cy = view.y + view.h / 2;
      const dist = (i) => { const r = this.v.itemRect(i); return Math.hypot(r.x + r.w / 2 - cx, r.y + r.h / 2 - cy); };
      const list = inView.filter((i) => this.hasPyramid(i) && !this.failed.has(i));
      list.sort((a, c) => dist(a) - dist(c));
      for (const i of list.slice(0, this.max)) want.add(i);
    }
    for (const i of want) {
      const e = this.entries.get(i);
      if (!e) { if (this.loading < MAX_LOADING) this._open(i, tick); continue; }
      e.used = tick;
      if (e.src && !e.img) this._attach(e);
    }
    // detach what left the view, or is far below native size now (the cell shows it as well)
    for (const e of this.entries.values()) {
      if (!e.img) continue;
      const r = this._rect(e);
      // what is seen: the cell for a clipped (fill) image; OpenSeadragon redraws forever an image in view with no tile drawn
      const seen = r.clip ? this.v.itemRect(e.i) : r;
      if (!overlaps(seen, view) || over < 0.5 || (!want.has(e.i) && !e.shown)) this._detach(e);
      else this._place(e, r);
    }
    this._evict(tick);
  }

  /** Keep at most 4 x max opened services: drop the least recently wanted, detached ones first. */
  _evict(tick) {
    const cap = 4 * this.max;
    if (this.entries.size <= cap) return;
    const old = [...this.entries.values()].filter((e) => e.used < tick && !e.img && e.src).sort((a, c) => a.used - c.used);
    for (const e of old) {
      if (this.entries.size <= cap) break;
      this.entries.delete(e.i);
    }
  }

  /** Read item i's service (its info.json); it is attached on a later frame if still wanted. */
  async _open(i, tick) {
    const e = { i, src: null, w: 0, h: 0, img: null, rect: null, shown: false, fade: 0, used: tick, gone: false };
    this.entries.set(i, e);
    this.loading++;
    this.requested.add(i);
    try {
      const url = serviceUrl(await getItem(this.coll, i));
      if (!url) throw new Error('no image service');
      e.src = await loadService(url);
      e.w = e.src.width;
      e.h = e.src.height;
    } catch (err) {
      console.warn(`full resolution of item ${i} unavailable:`, err.message);
      this.failed.add(i);
      this.entries.delete(i);
    } finally {
      this.loading--;
      this.v.schedule();
    }
  }

  /** Add the item's image to the view, transparent; it fades in once what it shows is loaded. */
  _attach(e) {
    const r = this._rect(e);
    const token = {};
    e.token = token;
    e.img = token;  // attaching: not again
    this.loading++;
    this.v.osd.addTiledImage({
      tileSource: e.src.osd || e.src, x: r.x, y: r.y, width: r.w, opacity: 0, preload: true, clip: osdRect(r.clip),
      success: (ev) => {
        this.loading--;
        const img = ev.item;
        this.sources.add(img.source);
        e.src.osd = img.source;  // opened once: later attachments reuse it (and its cached tiles)
        if (e.token !== token) { this._drop(img); return; }
        e.img = img;
        e.rect = r;
        img.whenFullyLoaded(() => this._fadeIn(e, img));
        this.v.schedule();
      },
      error: (ev) => {
        this.loading--;
        console.warn(`full resolution of item ${e.i} unavailable:`, ev.message);
        this.failed.add(e.i);
        if (e.token === token) e.img = null;
        this.v.schedule();
      },
    });
  }

  _drop(img) {
    img.allowZombieCache(true);
    this.v.osd.world.removeItem(img);
  }

  _detach(e) {
    cancelAnimationFrame(e.fade);
    e.fade = 0;
    e.token = null;
    if (e.img && e.img.source) this._drop(e.img);
    e.img = null;
    e.rect = null;
    e.shown = false;
    this.v.schedule();
  }

  _opacity(i) {
    // the layouts dim filtered-out items by drawing them faint; the grid dims them with a veil on top
    const m = this.v.mask;
    return this.v.points() && m && !m[i] ? 0.14 : 1;
  }

  _fadeIn(e, img) {
    if (e.img !== img) return;
    const t0 = performance.now();
    const step = () => {
      if (e.img !== img) return;
      const k = reducedMotion() ? 1 : Math.min(1, (performance.now() - t0) / FADE_MS);
      img.setOpacity(k * this._opacity(e.i));
      if (k < 1) e.fade = requestAnimationFrame(step);
      else { e.fade = 0; e.shown = true; this.v.schedule(); }
    };
    e.fade = requestAnimationFrame(step);
  }

  _rect(e) { return placeRect(this.v.itemRect(e.i), e.w, e.h, this.coll.cellFit); }

  /** Follow the item's place in the layout (items move when the layout changes). */
  _place(e, r) {
    if (!e.img || !e.img.source) return;
    const p = e.rect;
    if (!p || Math.abs(p.x - r.x) > 1e-12 || Math.abs(p.y - r.y) > 1e-12 || Math.abs(p.w - r.w) > 1e-12) {
      e.img.setPosition(new OpenSeadragon.Point(r.x, r.y), true);
      e.img.setWidth(r.w, true);
      e.rect = r;
    }
    if (e.shown) {
      const o = this._opacity(e.i);
      if (e.img.getOpacity() !== o) e.img.setOpacity(o);
    }
  }

  /** True when item i is drawn from its pyramid, fully loaded and faded in. */
  shown(i) {
    const e = this.entries.get(i);
    return !!(e && e.shown);
  }

  /** Items drawn from their pyramids now. */
  attached() {
    return [...this.entries.values()].filter((e) => e.img && e.img.source).map((e) => e.i);
  }

  /** Nothing being opened, loaded or faded in. */
  idle() {
    if (this.loading) return false;
    for (const e of this.entries.values()) if (e.img && !e.shown) return false;
    return true;
  }

  // ---- zoom limit ----

  /** CSS px per viewport unit at which item i reaches its limit: 100 % of its full image, or,
   * without a pyramid, the mosaic's limit. */
  _limitPpu(i) {
    const r = this.v.itemRect(i);
    const f = this.full[i] || 0;
    if (!f) return (MOSAIC_RATIO * this.coll.cellSize[0]) / this.v.cellVp[0];
    const e = this.entries.get(i);
    const c = e && e.w ? placeRect(r, e.w, e.h, this.coll.cellFit) : null;
    return f / (c ? Math.max(c.w, c.h) : Math.min(r.w, r.h));
  }

  /** Set the viewer's zoom limit from the items in view (all of them when very many are). */
  _limit(inView) {
    const vp = this.v.osd.viewport;
    let ppu = 0;
    if (inView && inView.length <= MANY) {
      for (const i of inView) ppu = Math.max(ppu, this._limitPpu(i));
    }
    if (!ppu) ppu = this.globalLimitPpu();
    const zNow = vp.getZoom(true);
    const z = (ppu * zNow) / this.v.ppu(true);
    // never below the zoom shown now: panning from a large image to smaller ones does not jerk
    // the view out; it only stops zooming in further
    const next = Math.max(z, Math.min(zNow, this._globalZoom(zNow)));
    if (Number.isFinite(next) && next > 0) vp.maxZoomLevel = next;
  }

  globalLimitPpu() {
    const r = this.v.itemRect(0);
    const mosaic = (MOSAIC_RATIO * this.coll.cellSize[0]) / this.v.cellVp[0];
    const anyWithout = this.full.length < this.coll.n || this.full.some((f) => !f);
    const pyr = this.fullMax ? this.fullMax / Math.min(r.w, r.h) : 0;
    return Math.max(pyr, anyWithout ? mosaic : 0);
  }

  _globalZoom(zNow) {
    return (this.globalLimitPpu() * zNow) / this.v.ppu(true);
  }
}

// ---- the full view -------------------------------------------------------------------------

/**
 * One item alone, zoomable to its full resolution, in a modal dialog. Follows app.full:
 * #item=12&full=1 opens it; closing it (button, Escape) keeps the record open.
 */
export class FullView {
  constructor(app) {
    this.app = app;
    this.dlg = document.getElementById('fullview');
    this.box = document.getElementById('fullview-viewer');
    this.titleEl = document.getElementById('fullview-title');
    this.sizeEl = document.getElementById('fullview-size');
    this.osd = null;
    this.item = -1;
    this.ready = false;  // the image is open and its view loaded (tests wait on it)
    document.getElementById('fullview-close').addEventListener('click', () => app.setFull(false));
    this.dlg.addEventListener('keydown', (e) => {
      // keys here drive this view, not the collection behind (keyboard.js listens on document)
      e.stopPropagation();
      if (e.key === 'Escape') { e.preventDefault(); app.setFull(false); }
    });
    this.dlg.addEventListener('cancel', (e) => { e.preventDefault(); app.setFull(false); });
    app.addEventListener('change', (e) => {
      if (e.detail.what === 'full' || e.detail.what === 'item') this.sync();
    });
  }

  sync() {
    const { app } = this;
    if (app.full && app.item !== null) this.show(app.item);
    else this.hide();
  }

  async show(i) {
    if (this.item === i && this.dlg.open) return;
    this.item = i;
    this.ready = false;
    const title = this.app.coll.title[i] || 'Untitled';
    this.titleEl.textContent = title;
    this.sizeEl.textContent = '';
    if (!this.dlg.open) this.dlg.showModal();
    this.dlg.dataset.item = String(i);
    let src;
    try {
      const url = serviceUrl(await getItem(this.app.coll, i));
      if (!url) throw new Error('this item has no full-resolution image');
      src = await loadService(url);
    } catch (err) {
      if (this.item !== i) return;
      this.sizeEl.textContent = `The full-resolution image could not be loaded (${err.message}).`;
      return;
    }
    if (this.item !== i || !this.dlg.open) return;
    this.sizeEl.textContent = `${src.width} × ${src.height} px`;
    this.box.setAttribute('aria-label', `${title}, full resolution`);
    const osd = this._viewer();
    osd.addOnceHandler('open', () => {
      const img = osd.world.getItemAt(0);
      const vp = osd.viewport;
      // a small image opens at 100 %, not enlarged to fill the screen
      if (vp.getMaxZoom() < vp.getHomeZoom()) { vp.defaultZoomLevel = vp.getMaxZoom(); vp.goHome(true); }
      img.whenFullyLoaded(() => { if (this.item === i) { this.ready = true; this.dlg.dataset.ready = 'true'; } });
    });
    delete this.dlg.dataset.ready;
    osd.open(src);
  }

  _viewer() {
    if (this.osd) return this.osd;
    this.osd = OpenSeadragon({
      element: this.box,
      prefixUrl: 'assets/openseadragon/images/',
      showNavigationControl: true,
      showFullPageControl: false,
      showRotationControl: false,
      navigationControlAnchor: OpenSeadragon.ControlAnchor.BOTTOM_RIGHT,
      maxZoomPixelRatio: 1,      // 100 %: never enlarged beyond its full resolution
      minZoomImageRatio: 0.5,
      visibilityRatio: 0.5,
      animationTime: reducedMotion() ? 0.01 : 0.6,
      crossOriginPolicy: false,
      drawer: 'canvas',
      gestureSettingsMouse: { clickToZoom: true, dblClickToZoom: false },
    });
    return this.osd;
  }

  hide() {
    this.item = -1;
    this.ready = false;
    if (this.osd) this.osd.close();
    if (this.dlg.open) this.dlg.close();
  }
}

// ---- the IIIF drag-and-drop link --------------------------------------------------------------

/** The absolute address of a Manifest: the site's base URL (IIIF ids are absolute) + its path. */
export function manifestAddress(coll, path) {
  const iiif = coll.raw && coll.raw.iiif;
  const base = iiif && typeof iiif.base_url === 'string' && /^https?:\/\//i.test(iiif.base_url) ? iiif.base_url : null;
  if (!base || typeof path !== 'string' || /^[a-z]+:|^\/\/|\.\./i.test(path)) return null;
  try {
    return new URL(path, base).href;
  } catch {
    return null;
  }
}

/**
 * The IIIF drag-and-drop link (https://iiif.io/community/groups/discovery/): an anchor to the
 * Manifest whose query names it again, ?manifest=<its absolute URL>; dropped on a IIIF viewer
 * (Mirador, Universal Viewer, …) it opens there; clicked, it shows the JSON.
 */
export function manifestLink(coll, path) {
  const abs = manifestAddress(coll, path);
  if (!abs) return null;
  const a = el('a', {
    class: 'iiif-link',
    attrs: {
      href: `${path}?manifest=${encodeURIComponent(abs)}`,
      title: 'IIIF Manifest: drag this link into a IIIF viewer such as Mirador, or click to see it',
      'data-manifest': abs,
      draggable: 'true',
    },
  });
  a.append(el('img', { class: 'iiif-logo', attrs: { src: 'assets/iiif-logo.svg', alt: '', width: 22, height: 20 } }),
    el('span', { text: 'IIIF Manifest' }));
  return a;
}
