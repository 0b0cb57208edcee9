// OpenSeadragon stage: the mosaic, cell hit-testing, and a canvas layer on top for
// highlights, search dimming and the similarity-map layout.
import { CellTiles } from './tiles.js';
import { DeepZoom } from './fullres.js';
import { tsneLayout, groupLayout, gridLayout, dataLayout } from './layouts.js';
import { Transition, MovingRenderer } from './transitions.js';
import { reducedMotion } from './util.js';

export class Viewer {
  constructor(element, coll, handlers) {
    this.el = element;
    this.coll = coll;
    this.h = handlers; // {onHover(i, pos, pointerType), onLeave(), onClick(i), onView(), onTileFailed(e)}
    this.layout = 'grid';
    this.mask = null;
    this.maskVersion = 0;
    this.selected = -1;
    this.cursor = -1;
    this.hover = -1;
    this.layouts = new Map(); // layout key (_key) -> PointLayout, made on first use
    this.shownKey = 'grid';   // the layout on screen (groups: with its key)
    this.transition = null;   // items moving between layouts (transitions.js), or null
    this.mover = new MovingRenderer();
    this.lastTransition = null; // figures of the last finished move (tests, bench, console)
    this.groupKey = null;  // the facet the groups layout gathers by
    this.tiles = null;
    this.colors = null;
    this.insets = () => ({ right: 0, bottom: 0 });
    this.painters = [];    // more drawing on the overlay canvas, above the items: fn(ctx, view, dpr)
    this.clickPending = false;  // a click waits to rule out a double-click
    this._raf = 0;
    this._pending = 0;     // moves asked for the next frame: the view is not settled before they start
  }

  open() {
    const osd = (this.osd = OpenSeadragon({
      element: this.el,
      prefixUrl: 'assets/openseadragon/images/',
      tileSources: this.coll.dzi,
      showNavigationControl: false,
      showNavigator: true,
      navigatorPosition: 'BOTTOM_LEFT',
      navigatorAutoFade: false,
      navigatorSizeRatio: 0.14,
      navigatorBackground: '#0b0c0f',
      navigatorBorderColor: '#3a3d45',
      navigatorDisplayRegionColor: '#e8c27a',
      visibilityRatio: 0.3,
      constrainDuringPan: false,
      minZoomImageRatio: 0.6,
      maxZoomPixelRatio: 3,
      animationTime: reducedMotion() ? 0.01 : 0.9,
      springStiffness: 7,
      blendTime: 0.15,
      immediateRender: false,
      imageLoaderLimit: 8,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true, flickEnabled: true },
      gestureSettingsTouch: { clickToZoom: false, dblClickToZoom: true, pinchToZoom: true, flickEnabled: true },
      gestureSettingsPen: { clickToZoom: false },
      crossOriginPolicy: false,
      viewportMargins: { top: 28, left: 28, right: 72, bottom: 28 },  // right: clear of the zoom buttons
      // The 2D canvas drawer: starts in a few ms everywhere (the WebGL drawer costs ~0.6 s where
      // WebGL is software-rendered) and a mosaic needs none of WebGL's extras.
      drawer: 'canvas',
    }));
    this.osd.element.classList.add('osd');
    // canvas layer
    const layer = (this.layer = document.createElement('canvas'));
    layer.className = 'overlay-layer';
    layer.setAttribute('aria-hidden', 'true');
    osd.canvas.appendChild(layer);
    this.ctx = layer.getContext('2d');

    osd.addHandler('canvas-key', (e) => {
      // Arrow keys move between items (main.js), not the view.
      const k = e.originalEvent && e.originalEvent.key;
      if (k && (k.startsWith('Arrow') || k === 'Enter' || k === 'Escape')) e.preventDefaultAction = true;
    });
    // A click opens its item only once a double-click (which zooms) is ruled out: the open waits
    // out OpenSeadragon's double-click time, and a double-click cancels it.
    osd.addHandler('canvas-click', (e) => {
      if (!e.quick) return;
      e.preventDefaultAction = true;
      const i = this.hit(e.position), type = e.originalEvent && e.originalEvent.pointerType;
      clearTimeout(this._clickTimer);
      this.clickPending = true;
      this._clickTimer = setTimeout(() => {
        this.clickPending = false;
        this.h.onClick && this.h.onClick(i, type);
      }, osd.dblClickTimeThreshold || 300);
    });
    osd.addHandler('canvas-double-click', () => {
      clearTimeout(this._clickTimer);
      this.clickPending = false;
    });
    this.tracker = new OpenSeadragon.MouseTracker({
      element: osd.canvas,
      moveHandler: (e) => {
        if (e.pointerType && e.pointerType !== 'mouse') return;
        const i = this.hit(e.position);
        this.setHover(i);
        this.h.onHover && this.h.onHover(i, e.position, e.pointerType);
      },
      leaveHandler: () => {
        this.setHover(-1);
        this.h.onLeave && this.h.onLeave();
      },
    });
    const redraw = () => this.schedule();
    osd.addHandler('animation', redraw);
    osd.addHandler('viewport-change', redraw);
    osd.addHandler('resize', redraw);
    osd.addHandler('update-viewport', redraw);
    osd.addHandler('animation-finish', () => this.h.onView && this.h.onView());
    osd.addHandler('tile-load-failed', (e) => this.h.onTileFailed && this.h.onTileFailed(e));
    return new Promise((resolve, reject) => {
      osd.addOnceHandler('open', () => {
        this.image = osd.world.getItemAt(0);
        const src = this.image.source;
        this.tiles = new CellTiles(this.coll, src, () => this.schedule());
        const b = this.image.getBounds();
        this.world = { x: b.x, y: b.y, w: b.width, h: b.height };
        const [c0, c1] = this.coll.cellSize;
        const W = src.dimensions.x;
        this.cellVp = [c0 / W, c1 / W]; // cell size in viewport units
        this.deepZoom = new DeepZoom(this, this.coll); // items from their own pyramids when zoomed in
        this.schedule();
        resolve();
      });
      osd.addOnceHandler('open-failed', (e) => reject(new Error(`mosaic failed to open: ${e.message || ''}`)));
    });
  }

  /**
   * Make what a switch to the similarity map needs (the grid's and the map's points, the items'
   * colours, the moving points' buffers) while the page is idle, one piece per idle moment: at a
   * million items each takes 10-50 ms that would otherwise delay the switch's first frame.
   */
  warm() {
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 50));
    const steps = [() => this.layoutFor('grid'), () => this.layoutFor('tsne'),
      () => (this.colors ? null : this.loadColors()),
      () => this.mover.prepare(this.coll.n, { colors: this.colors, mask: this.mask, maskVersion: this.maskVersion })];
    const next = () => {
      const step = steps.shift();
      if (!step) return;
      idle(() => { Promise.resolve(step()).finally(next); }, { timeout: 5000 });
    };
    next();
  }

  /** Colours per item for the similarity map (after first paint). */
  async loadColors() {
    this.colors = await this.tiles.computeColors();
    for (const L of this.layouts.values()) L.overview = null;
    this.schedule();
  }

  schedule() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => { this._raf = 0; this.draw(); });
  }

  /** Run fn on the next frame (after layout, e.g. once the panel is shown); settled() waits for it. */
  afterFrame(fn) {
    this._pending++;
    requestAnimationFrame(() => {
      this._pending--;
      fn();
    });
  }

  /** True when the view has stopped moving and what it shows is loaded. */
  settled() {
    if (!this.image) return false;
    const vp = this.osd.viewport;
    const a = vp.getCenter(true), b = vp.getCenter(false);
    const still = Math.abs(vp.getZoom(true) - vp.getZoom(false)) < 1e-9 && Math.abs(a.x - b.x) < 1e-9 && Math.abs(a.y - b.y) < 1e-9;
    const loaded = this.layout === 'grid' ? this.image.getFullyLoaded() : this.tiles.loading === 0 && this.tiles.queue.length === 0;
    // the overlay and the pyramids follow the view on the frame after it moves: drawn for this view?
    const drawn = this._drawnView === String(Object.values(vp.getBounds(true)));
    return still && loaded && drawn && !this._raf && !this._pending && !this.clickPending && !this.transition && !(this.points() && this.points().pending) && (!this.deepZoom || this.deepZoom.idle());
  }

  // ---- geometry -------------------------------------------------------------------------

  cellRect(i) {
    const c = this.coll.cell[i];
    const col = c % this.coll.cols, row = Math.floor(c / this.coll.cols);
    const [w, h] = this.cellVp;
    return { x: this.world.x + col * w, y: this.world.y + row * h, w, h };
  }

  itemRect(i) {
    if (this.transition) return this.transition.itemRect(i);
    const L = this.points();
    return L ? L.itemRect(i) : this.cellRect(i);
  }

  /** The canvas-drawn layout in use, or null for the mosaic (the grid at rest). */
  points() {
    if ((this.layout === 'grid' && !this.transition) || !this.world) return null;
    return this.layoutFor(this.layout);
  }

  _key(name) { return name === 'groups' ? `groups:${this.groupKey}` : name; }

  /** The PointLayout of a layout by name (the grid too), made on first use. */
  layoutFor(name) {
    const key = this._key(name);
    let L = this.layouts.get(key);
    if (!L) {
      const spec = this.coll.layouts && this.coll.layouts.get(name);
      L = name === 'grid' ? gridLayout(this.coll, this.world, this.cellVp)
        : name === 'groups' ? groupLayout(this.coll, this.world, this.groupKey)
          : spec ? dataLayout(this.coll, this.world, spec) : tsneLayout(this.coll, this.world);
      this.layouts.set(key, L);
    }
    return L;
  }

  /** Item under a pixel position of the viewer element, or -1 (also outside the element). */
  hit(pos) {
    if (!this.image || !(pos.x >= 0 && pos.y >= 0 && pos.x < this.el.clientWidth && pos.y < this.el.clientHeight)) return -1;
    const p = this.osd.viewport.pointFromPixel(new OpenSeadragon.Point(pos.x, pos.y), true);
    const L = this.points();
    if (L) return L.hit(p, this.mask);
    const { cols, rows } = this.coll;
    const [w, h] = this.cellVp;
    const col = Math.floor((p.x - this.world.x) / w), row = Math.floor((p.y - this.world.y) / h);
    if (col < 0 || row < 0 || col >= cols || row >= rows) return -1;
    return this.coll.cellToItem[row * cols + col];
  }

  /** The centre of the part of the stage the panel leaves free, in viewer pixels. */
  freeCentre() {
    const ins = this.insets();
    return { x: (this.el.clientWidth - ins.right) / 2, y: (this.el.clientHeight - ins.bottom) / 2 };
  }

  /** The item the visitor sees in the middle (of the part the panel leaves free), or -1. */
  centreItem() {
    return this.hit(this.freeCentre());
  }

  // ---- state setters ----------------------------------------------------------------------

  setMask(mask) {
    this.mask = mask;
    this.maskVersion++;
    this.schedule();
  }

  setSelected(i) { this.selected = i; this.schedule(); }
  setCursor(i) { this.cursor = i; this.schedule(); }
  setHover(i) { if (i !== this.hover) { this.hover = i; this.schedule(); } }

  setLayout(layout) {
    if (layout === this.layout || !this.image) { this.layout = layout; return; }
    this.layout = layout;
    this.image.setOpacity(layout === 'grid' ? 1 : 0);
    const nav = this.osd.navigator && this.osd.navigator.element;
    if (nav) nav.classList.toggle('is-hidden', layout !== 'grid');
    this.schedule();
  }

  /**
   * Show another layout (or the groups by another key). With animate, every item moves from its
   * place to its new one and the camera follows (transitions.js): the focus item (the open one)
   * from where it is on screen to the middle of the free part of the stage; without one, to the
   * whole new layout. Without animate (or with reduced motion) the view jumps there.
   */
  switchLayout(layout, { focus = -1, animate = true } = {}) {
    if (!this.image) { this.layout = layout; return; }
    const before = this.transition ? this.transition.snapshot()
      : this.layouts.get(this.shownKey) || this.layoutFor(this.shownKey === 'grid' ? 'grid' : this.layout);
    const prev = this.transition ? this.transition.names[1] : this.layout;
    const vp = this.osd.viewport;
    const view0 = this.getView();
    this.transition = null;
    this.setLayout(layout);
    this.shownKey = this._key(layout);
    const after = this.layoutFor(layout);
    if (focus >= 0) this.flyTo(focus, { immediate: true }); else this.fit(true);  // where the view ends
    if (!animate || reducedMotion() || before === after) { this.schedule(); return; }
    const view1 = this.getView();
    const centre = (r) => vp.pixelFromPoint(new OpenSeadragon.Point(r.x + r.w / 2, r.y + r.h / 2), true);
    const s1 = focus >= 0 ? centre(after.itemRect(focus)) : null;
    this.setView(view0, true);
    const camera = {
      focus, z0: view0.z, z1: view1.z, c0: view0, c1: view1, s1,
      s0: focus >= 0 ? centre(before.itemRect(focus)) : null,
      pc: vp.pixelFromPoint(vp.getCenter(true), true), ppu0: this.ppu(true),
    };
    this.transition = new Transition(before, after, { start: performance.now(), camera, names: [prev, layout] });
    this._fade(this.transition);
    this.schedule();
  }

  /**
   * The mosaic hides as items leave the grid (they are drawn over their cells from the first
   * frame) and fades back in as they land on it. Never hidden by a fade: OpenSeadragon 6 keeps
   * redrawing, every frame, an image whose tiles were blending in when it reached opacity 0.
   */
  _fade(tr) {
    const b = tr.names[1], e = tr.e;
    let o = 0;
    if (tr.done) o = b === 'grid' ? 1 : 0;
    else if (b === 'grid') o = e < 0.75 ? 0 : (e - 0.75) / 0.25;
    if (this.image.getOpacity() !== o) this.image.setOpacity(o);
  }

  /** One frame of a move: its progress, the camera; at its end, the layout at rest. */
  _stepTransition(tr) {
    const now = performance.now();
    tr.progress(now);
    const v = tr.view();
    if (v) this.setView(v, true);
    this._fade(tr);
    if (!tr.done) return tr;
    this.transition = null;
    this.lastTransition = tr.stats(now);
    this.h.onView && this.h.onView();
    return null;
  }

  // ---- view -------------------------------------------------------------------------------

  /** CSS pixels per viewport unit (OpenSeadragon's zoom is relative to the size inside the margins). */
  ppu(current = true) {
    return this.osd.viewport.deltaPixelsFromPointsNoRotate(new OpenSeadragon.Point(1, 0), current).x;
  }

  getView() {
    const vp = this.osd.viewport;
    const c = vp.getCenter(false);
    return { x: c.x, y: c.y, z: vp.getZoom(false) };
  }

  setView(v, immediate = true) {
    const vp = this.osd.viewport;
    vp.zoomTo(v.z, null, immediate);
    vp.panTo(new OpenSeadragon.Point(v.x, v.y), immediate);
  }

  zoomBy(f) {
    this.osd.viewport.zoomBy(f);
    this.osd.viewport.applyConstraints();
  }

  fit(immediate = false) {
    const vp = this.osd.viewport;
    const L = this.points();
    if (L) {
      const r = L.rect;
      vp.fitBounds(new OpenSeadragon.Rect(r.x, r.y, r.w, r.h), immediate);
    } else {
      vp.goHome(immediate);
    }
  }

  /** Fly so item i is centred in the part of the stage not covered by the panel. */
  flyTo(i, { immediate = false, cellsAcross = 5 } = {}) {
    if (i < 0 || !this.image) return;
    const vp = this.osd.viewport;
    const r = this.itemRect(i);
    const W = this.el.clientWidth, H = this.el.clientHeight;
    const ins = this.insets();
    const visW = Math.max(120, W - ins.right), visH = Math.max(120, H - ins.bottom);
    let ppu = Math.min(visW, visH) / (cellsAcross * r.w);
    const cur = this.ppu(false);
    // keep the current zoom when the item is already a fair size
    if (cur > ppu && cur < ppu * 4) ppu = cur;
    const z = (vp.getZoom(false) * ppu) / cur;
    const cx = r.x + r.w / 2 + ins.right / 2 / ppu;
    const cy = r.y + r.h / 2 + ins.bottom / 2 / ppu;
    vp.zoomTo(z, null, immediate || reducedMotion());
    vp.panTo(new OpenSeadragon.Point(cx, cy), immediate || reducedMotion());
  }

  /** If item i is outside the part of the stage the panel leaves free, pan (no zoom) to centre it there. */
  reveal(i) {
    if (i < 0 || !this.image) return;
    const vp = this.osd.viewport;
    const r = this.itemRect(i);
    const b = vp.getBounds(false);
    const ppu = this.ppu(false);
    if (r.w * ppu < 8) return this.flyTo(i);
    const ins = this.insets();
    const right = b.x + b.width - ins.right / ppu, bottom = b.y + b.height - ins.bottom / ppu;
    const inside = r.x >= b.x && r.y >= b.y && r.x + r.w <= right && r.y + r.h <= bottom;
    if (inside) return;
    const cx = r.x + r.w / 2 + ins.right / 2 / ppu, cy = r.y + r.h / 2 + ins.bottom / 2 / ppu;
    vp.panTo(new OpenSeadragon.Point(cx, cy), reducedMotion());
  }

  // ---- drawing ----------------------------------------------------------------------------

  _maskBitmap() {
    if (this._maskDrawn === this.maskVersion) return this._maskCanvas;
    const { cols, rows, cellToItem } = this.coll;
    if (!this._maskCanvas) {  // one canvas and pixel buffer, refilled for each mask (4 MB at a million cells)
      this._maskCanvas = Object.assign(document.createElement('canvas'), { width: cols, height: rows });
      this._maskImage = this._maskCanvas.getContext('2d').createImageData(cols, rows);
    }
    const px = new Uint32Array(this._maskImage.data.buffer);  // RGBA bytes, little-endian: A is the high byte
    fillMask(px, cellToItem, this.mask);
    this._maskCanvas.getContext('2d').putImageData(this._maskImage, 0, 0);
    this._maskDrawn = this.maskVersion;
    return this._maskCanvas;
  }

  draw() {
    if (!this.image) return;
    const tr = this.transition && this._stepTransition(this.transition);
    const layer = this.layer;
    const dpr = window.devicePixelRatio || 1;
    const cw = this.osd.canvas.clientWidth, ch = this.osd.canvas.clientHeight;
    const W = Math.round(cw * dpr), H = Math.round(ch * dpr);
    if (layer.width !== W || layer.height !== H) { layer.width = W; layer.height = H; }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const vp = this.osd.viewport;
    const origin = vp.pixelFromPointNoRotate(new OpenSeadragon.Point(0, 0), true);
    const ppu = this.ppu(true) * dpr;
    const ox = origin.x * dpr, oy = origin.y * dpr;
    const toPx = (x, y) => [ox + x * ppu, oy + y * ppu];
    const b = vp.getBounds(true);
    this._drawnView = String(Object.values(b));
    const dz = this.deepZoom;
    if (dz) dz.update();
    const covered = dz ? (i) => dz.shown(i) : null; // an item drawn from its pyramid: no cell over it
    const view = { toPx, ppu, rect: { x: b.x, y: b.y, w: b.width, h: b.height }, covered };

    const L = this.points();
    const redraw = () => this.schedule();
    if (tr) {
      tr.from.drawUnder(ctx, view, dpr, 1 - tr.e, redraw);
      tr.to.drawUnder(ctx, view, dpr, tr.e, redraw);
      this.mover.draw(ctx, view, tr, { colors: this.colors, mask: this.mask, maskVersion: this.maskVersion, tiles: this.tiles, dpr });
      tr.from.drawOver(ctx, view, dpr, 1 - 2 * tr.e);
      tr.to.drawOver(ctx, view, dpr, 2 * tr.e - 1);
      this.schedule();
    } else if (L) {
      L.drawUnder(ctx, view, dpr, 1, redraw);
      L.draw(ctx, view, this.tiles, this.colors, this.mask, this.maskVersion);
      L.drawOver(ctx, view, dpr);
    } else if (this.mask) {
      const m = this._maskBitmap();
      const [x0, y0] = toPx(this.world.x, this.world.y);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(m, x0, y0, this.coll.cols * this.cellVp[0] * ppu, this.coll.rows * this.cellVp[1] * ppu);
    }
    for (const paint of this.painters) paint(ctx, view, dpr);  // marks, region labels (marks.js, regions.js)
    // rings: cursor, hover, selected
    const ring = (i, color, width) => {
      if (i < 0) return;
      const r = this.itemRect(i);
      const [x, y] = toPx(r.x, r.y);
      const w = r.w * ppu, h = r.h * ppu;
      const lw = width * dpr;
      const pad = Math.max(lw, Math.min(3 * dpr, w * 0.04));
      if (L && this.tiles && w >= 12 && !(covered && covered(i))) {
        const level = this.tiles.levelFor(w);
        if (!this.tiles.draw(ctx, i, level, x, y, w, h)) { /* drawn when tiles arrive */ }
      }
      ctx.lineWidth = lw;
      ctx.strokeStyle = 'rgba(0,0,0,0.55)';
      ctx.strokeRect(x - pad - lw, y - pad - lw, w + 2 * (pad + lw), h + 2 * (pad + lw));
      ctx.strokeStyle = color;
      ctx.strokeRect(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
    };
    if (this.cursor !== this.selected) ring(this.cursor, '#9ecbff', 2);
    if (this.hover !== this.selected) ring(this.hover, 'rgba(255,255,255,0.9)', 1.5);
    ring(this.selected, '#e8c27a', 2.5);
  }
}

/** Each cell's pixel: clear over a match, else the dimmed rest, rgba(9, 10, 13, 215) (one pass, in cell order). */
function fillMask(px, cellToItem, mask) {
  for (let c = 0; c < px.length; c++) { const i = cellToItem[c]; px[c] = i >= 0 && mask[i] ? 0 : 0xd70d0a09; }
}
