// Crops of single mosaic cells, cut from the Deep Zoom tiles the browser already caches.
// Used for the similarity-map thumbnails, the similar-images strip and per-item colours.

export class CellTiles {
  /** source: the OpenSeadragon DZI tile source of the mosaic. */
  constructor(coll, source, onLoad) {
    this.coll = coll;
    this.src = source;
    this.onLoad = onLoad;
    this.cache = new Map();   // key -> {img, ok, failed, used}
    this.queue = [];
    this.loading = 0;
    this.maxLoading = 6;
    this.maxCached = 500;
    this.tick = 0;
    this.ts = source.getTileWidth ? source.getTileWidth(source.maxLevel) : source.tileSize;
    this.ov = source.tileOverlap || 0;
    this.colors = null;       // Uint8Array n*3 once computed
    this.waiting = new Set(); // draws to retry when a tile arrives
  }

  levelScale(level) {
    return this.src.getLevelScale(level);
  }

  /** The lowest level whose cells are at least px pixels wide (capped at the full level). */
  levelFor(px) {
    const maxL = this.src.maxLevel;
    const c = this.coll.cellSize[0];
    let k = Math.floor(Math.log2(c / Math.max(1, px)));
    if (!Number.isFinite(k) || k < 0) k = 0;
    return Math.max(this.src.minLevel || 0, maxL - k);
  }

  _get(level, tx, ty, load) {
    const key = `${level}/${tx}_${ty}`;
    let t = this.cache.get(key);
    if (!t && load) {
      t = { img: null, ok: false, failed: false, used: 0, level, tx, ty };
      this.cache.set(key, t);
      this.queue.push(t);
      this._pump();
    }
    if (t) t.used = ++this.tick;
    return t;
  }

  _pump() {
    while (this.loading < this.maxLoading && this.queue.length) {
      const t = this.queue.pop(); // newest first: what is on screen now
      const img = new Image();
      img.decoding = 'async';
      this.loading++;
      img.onload = () => {
        t.ok = true;
        this.loading--;
        this._pump();
        for (const fn of [...this.waiting]) if (fn()) this.waiting.delete(fn);
        this.onLoad && this.onLoad();
      };
      img.onerror = () => { t.failed = true; this.loading--; this._pump(); };
      t.img = img;
      img.src = this.src.getTileUrl(t.level, t.tx, t.ty);
    }
    if (this.cache.size > this.maxCached) this._evict();
  }

  _evict() {
    const arr = [...this.cache.entries()].filter(([, t]) => t.ok || t.failed).sort((a, b) => a[1].used - b[1].used);
    for (let j = 0; j < arr.length && this.cache.size > this.maxCached * 0.8; j++) this.cache.delete(arr[j][0]);
  }

  /** Drop queued tile loads that nobody asked for in this frame. */
  trimQueue(keepRecent = 200) {
    if (this.queue.length > keepRecent) {
      const dropped = this.queue.splice(0, this.queue.length - keepRecent);
      for (const t of dropped) this.cache.delete(`${t.level}/${t.tx}_${t.ty}`);
    }
  }

  /**
   * Draw item i's cell into ctx at (dx, dy, dw, dh) from the given level.
   * Returns false (and asks for the tiles) when they are not loaded yet.
   */
  draw(ctx, i, level, dx, dy, dw, dh, load = true) {
    const { cols, cellSize } = this.coll;
    const cell = this.coll.cell[i];
    const col = cell % cols, row = Math.floor(cell / cols);
    const s = this.levelScale(level);
    const cw = cellSize[0] * s, ch = cellSize[1] * s;
    const x0 = col * cw, y0 = row * ch;
    const ts = this.ts, ov = this.ov;
    const tx0 = Math.floor(x0 / ts), tx1 = Math.floor((x0 + cw - 1e-6) / ts);
    const ty0 = Math.floor(y0 / ts), ty1 = Math.floor((y0 + ch - 1e-6) / ts);
    const parts = [];
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const t = this._get(level, tx, ty, load);
        if (!t || !t.ok) return false;
        parts.push(t);
      }
    }
    for (const t of parts) {
      const ix0 = Math.max(x0, t.tx * ts), ix1 = Math.min(x0 + cw, (t.tx + 1) * ts);
      const iy0 = Math.max(y0, t.ty * ts), iy1 = Math.min(y0 + ch, (t.ty + 1) * ts);
      if (ix1 <= ix0 || iy1 <= iy0) continue;
      const sx = ix0 - t.tx * ts + (t.tx > 0 ? ov : 0);
      const sy = iy0 - t.ty * ts + (t.ty > 0 ? ov : 0);
      ctx.drawImage(t.img, sx, sy, ix1 - ix0, iy1 - iy0,
        dx + ((ix0 - x0) / cw) * dw, dy + ((iy0 - y0) / ch) * dh,
        ((ix1 - ix0) / cw) * dw, ((iy1 - iy0) / ch) * dh);
    }
    return true;
  }

  /** A canvas showing item i's cell, drawn as soon as its tiles arrive. */
  cellCanvas(i, cssPx, label) {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const px = Math.round(cssPx * dpr);
    const c = document.createElement('canvas');
    c.width = px;
    c.height = px;
    c.className = 'cell-canvas';
    if (label) { c.setAttribute('role', 'img'); c.setAttribute('aria-label', label); }
    const ctx = c.getContext('2d');
    const level = this.levelFor(px);
    const tryDraw = () => {
      if (!c.isConnected && c.dataset.placed) return true; // removed from the page: stop waiting
      return this.draw(ctx, i, level, 0, 0, px, px);
    };
    if (!tryDraw()) this.waiting.add(tryDraw);
    queueMicrotask(() => { c.dataset.placed = '1'; });
    return c;
  }

  /**
   * One colour per item (its cell averaged by the pyramid: the level where a cell is ~1 px).
   * Resolves to a Uint8Array of n*3; calls back when done.
   */
  async computeColors() {
    const { n, cols, rows, cellSize } = this.coll;
    const level = this.levelFor(1);
    const s = this.levelScale(level);
    const cw = cellSize[0] * s, ch = cellSize[1] * s;
    const W = Math.max(1, Math.ceil(cols * cw)), H = Math.max(1, Math.ceil(rows * ch));
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const ts = this.ts, ov = this.ov;
    const ntx = Math.ceil(W / ts), nty = Math.ceil(H / ts);
    const loads = [];
    for (let ty = 0; ty < nty; ty++) for (let tx = 0; tx < ntx; tx++) {
      loads.push(new Promise((resolve) => {
        const img = new Image();
        img.onload = () => {
          ctx.drawImage(img, tx > 0 ? ov : 0, ty > 0 ? ov : 0, ts, ts, tx * ts, ty * ts, ts, ts);
          resolve();
        };
        img.onerror = () => resolve();
        img.src = this.src.getTileUrl(level, tx, ty);
      }));
    }
    await Promise.all(loads);
    const data = ctx.getImageData(0, 0, W, H).data;
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const cell = this.coll.cell[i];
      const x = Math.min(W - 1, Math.floor(((cell % cols) + 0.5) * cw));
      const y = Math.min(H - 1, Math.floor((Math.floor(cell / cols) + 0.5) * ch));
      const o = (y * W + x) * 4;
      out[i * 3] = data[o]; out[i * 3 + 1] = data[o + 1]; out[i * 3 + 2] = data[o + 2];
    }
    this.colors = out;
    return out;
  }
}
