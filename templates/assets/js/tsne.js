// The similarity map: every item at its t-SNE position (items.xy), drawn on a canvas layer.
// Far out: one dot per item in its own average colour (a cached overview bitmap at 100k items).
// Closer in: squares in the item's colour; close up: the item's own thumbnail, cut from the
// mosaic's tiles. A bucket grid finds the items in view and under the pointer.

export class TsneLayout {
  /** world: {x, y, w, h} the viewport rectangle the map is laid out in. */
  constructor(coll, world) {
    this.coll = coll;
    const n = coll.n;
    const side = Math.min(world.w, world.h) * 0.94;
    this.rect = { x: world.x + (world.w - side) / 2, y: world.y + (world.h - side) / 2, w: side, h: side };
    this.size = (side * 0.85) / Math.sqrt(Math.max(1, n)) ; // item side, viewport units
    // positions in viewport units (centres)
    this.px = new Float64Array(n);
    this.py = new Float64Array(n);
    const xy = coll.xy;
    const inner = side - this.size;
    for (let i = 0; i < n; i++) {
      this.px[i] = this.rect.x + this.size / 2 + xy[2 * i] * inner;
      this.py[i] = this.rect.y + this.size / 2 + xy[2 * i + 1] * inner;
    }
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
    const K = 2048;
    const c = this.overview || document.createElement('canvas');
    c.width = K;
    c.height = K;
    const ctx = c.getContext('2d');
    ctx.clearRect(0, 0, K, K);
    const img = ctx.createImageData(K, K);
    const d = img.data;
    const n = this.coll.n;
    const dot = Math.max(1, Math.round((this.size / this.rect.w) * K));
    const paint = (i, alpha) => {
      const cx = Math.floor(((this.px[i] - this.rect.x) / this.rect.w) * K - dot / 2);
      const cy = Math.floor(((this.py[i] - this.rect.y) / this.rect.h) * K - dot / 2);
      const r = colors ? colors[3 * i] : 150, g = colors ? colors[3 * i + 1] : 150, b = colors ? colors[3 * i + 2] : 150;
      for (let y = Math.max(0, cy); y < Math.min(K, cy + dot); y++) {
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
    const useThumbs = tiles && s >= 12 && visible <= 2500;
    const level = useThumbs ? tiles.levelFor(s) : 0;
    const drawOne = (i) => {
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
}
