// Animated layout changes: every item moves from its place in the old layout to its place in the
// new one (DURATION ms, eased), while the camera follows: the open item stays on screen, sliding
// from where it was to the middle of the free part of the stage and the zoom changing smoothly;
// with no item open, the view goes from what it showed to the whole new layout.
// Drawn on the 2D canvas: the per-frame cost is one pass over the items (position, cull), then
// either a pixel splat into an ImageData (many or small items: 100k in a few ms) or squares and
// thumbnails (few, large items). bench/layout_fps.py measures it; bench/README.md has the figures
// and why the 2D canvas rather than WebGL.
import { PointLayout } from './layouts.js';

export const DURATION = 600;  // ms

/** Ease in and out (cubic): slow start, slow landing. */
export function ease(t) {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2;
}

/** Linear interpolation of positions a -> b at e into out (typed arrays of one length). */
export function lerpInto(out, a, b, e) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + (b[i] - a[i]) * e;
  return out;
}

/** Zoom between z0 and z1 at e, geometric: the same speed at every scale. */
export function zoomAt(z0, z1, e) {
  return z0 * Math.pow(z1 / z0, e);
}

/** RGBA as one little-endian 32-bit word (ImageData's byte order: R, G, B, A). */
const pack = (r, g, b, a) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;

export class Transition {
  /**
   * from, to: PointLayouts (the grid too); start: a performance.now() time. camera: {z0, z1,
   * c0: {x, y}, c1, focus, s0, s1, pc, ppu0} (see Viewer.switchLayout) or null to leave the view.
   */
  constructor(from, to, { start, duration = DURATION, camera = null, names = [] }) {
    this.from = from;
    this.to = to;
    this.start = start;
    this.duration = duration;
    this.camera = camera;
    this.names = names;       // [from, to] layout names
    this.e = 0;               // eased progress of the last frame
    this.done = false;
    this.frames = 0;
    this.drawMs = 0;          // time spent drawing the items, summed over frames
    this.maxDrawMs = 0;
  }

  /** Progress at time now (eased); marks the transition done at its end. */
  progress(now) {
    const t = this.duration > 0 ? (now - this.start) / this.duration : 1;
    if (t >= 1) this.done = true;
    this.e = ease(Math.min(1, Math.max(0, t)));
    return this.e;
  }

  /** Item i's square now, in viewport units. */
  itemRect(i, e = this.e) {
    const A = this.from, B = this.to;
    const f = 1 - e;  // a * (1 - e) + b * e: exactly a at the start and b at the end
    const s = A.size * f + B.size * e;
    const x = A.px[i] * f + B.px[i] * e, y = A.py[i] * f + B.py[i] * e;
    return { x: x - s / 2, y: y - s / 2, w: s, h: s };
  }

  /** The view at e: {x, y, z} (centre, zoom), or null when the camera stays. */
  view(e = this.e) {
    const c = this.camera;
    if (!c) return null;
    const z = zoomAt(c.z0, c.z1, e);
    if (c.focus < 0) return { x: c.c0.x * (1 - e) + c.c1.x * e, y: c.c0.y * (1 - e) + c.c1.y * e, z };
    // the focus item's centre stays at a screen point sliding from s0 to s1
    const r = this.itemRect(c.focus, e);
    const ppu = c.ppu0 * (z / c.z0);
    const sx = c.s0.x + (c.s1.x - c.s0.x) * e, sy = c.s0.y + (c.s1.y - c.s0.y) * e;
    return { x: r.x + r.w / 2 + (c.pc.x - sx) / ppu, y: r.y + r.h / 2 + (c.pc.y - sy) / ppu, z };
  }

  /** Where the items are now, as a layout (to start another transition from the middle of this one). */
  snapshot() {
    const A = this.from, B = this.to, e = this.e;
    const px = lerpInto(new Float64Array(A.px.length), A.px, B.px, e);
    const py = lerpInto(new Float64Array(A.py.length), A.py, B.py, e);
    const r = {
      x: Math.min(A.rect.x, B.rect.x), y: Math.min(A.rect.y, B.rect.y),
      w: Math.max(A.rect.x + A.rect.w, B.rect.x + B.rect.w) - Math.min(A.rect.x, B.rect.x),
      h: Math.max(A.rect.y + A.rect.h, B.rect.y + B.rect.h) - Math.min(A.rect.y, B.rect.y),
    };
    return new PointLayout(A.coll, r, A.size + (B.size - A.size) * e, px, py, []);
  }

  /** The time and frame figures of a finished transition. */
  stats(now) {
    const ms = now - this.start;
    return {
      from: this.names[0], to: this.names[1], n: this.from.px.length, frames: this.frames, ms: Math.round(ms),
      fps: ms > 0 ? Math.round((1000 * this.frames) / ms * 10) / 10 : 0,
      drawMs: this.frames ? Math.round((this.drawMs / this.frames) * 100) / 100 : 0,
      maxDrawMs: Math.round(this.maxDrawMs * 100) / 100,
    };
  }
}

/** Draws the items of a transition on the 2D canvas layer. One per viewer: it keeps its buffers. */
export class MovingRenderer {
  constructor() {
    this.sx = null;           // screen positions of this frame, canvas px
    this.sy = null;
    this.vis = null;          // indices of the items on screen
    this.splat = null;        // {canvas, ctx, img, buf32, w, h}
    this.packed = null;       // Uint32Array: full and dimmed colour of each item
    this.packedKey = '';
    this.css = null;          // fill styles per item
  }

  /** Buffers and colours for n items, made ahead of a move (Viewer.warm). */
  prepare(n, { colors, mask, maskVersion }) {
    if (!this.sx || this.sx.length !== n) {
      this.sx = new Float32Array(n); this.sy = new Float32Array(n); this.vis = new Int32Array(n);
    }
    this._colours(colors, mask, maskVersion, n);
  }

  _colours(colors, mask, maskVersion, n) {
    const key = `${colors ? 1 : 0}/${maskVersion}/${n}`;
    if (this.packed && this.packedKey === key) return this.packed;
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const r = colors ? colors[3 * i] : 138, g = colors ? colors[3 * i + 1] : 143, b = colors ? colors[3 * i + 2] : 153;
      p[i] = pack(r, g, b, mask && !mask[i] ? 36 : 255);
    }
    this.packed = p;
    this.packedKey = key;
    this.css = null;
    return p;
  }

  _splatTarget(w, h) {
    let s = this.splat;
    if (!s || s.w !== w || s.h !== h) {
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d');
      const img = ctx.createImageData(w, h);
      s = this.splat = { canvas, ctx, img, buf32: new Uint32Array(img.data.buffer), w, h };
    }
    return s;
  }

  /**
   * Draw the items at tr.e. view: {toPx, ppu} as in Viewer.draw; opts: {colors, mask,
   * maskVersion, tiles, dpr}. Returns the number of items on screen.
   */
  draw(ctx, view, tr, { colors, mask, maskVersion, tiles, dpr }) {
    const t0 = performance.now();
    const A = tr.from, B = tr.to, e = tr.e, n = A.px.length;
    this.prepare(n, { colors, mask, maskVersion });
    const { sx, sy, vis } = this;
    const size = A.size + (B.size - A.size) * e;
    const ppu = view.ppu, s = size * ppu;
    const [ox, oy] = view.toPx(-size / 2, -size / 2);
    const W = ctx.canvas.width, H = ctx.canvas.height;
    const ax = A.px, bx = B.px, ay = A.py, by = B.py;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const x = ox + (ax[i] + (bx[i] - ax[i]) * e) * ppu;
      const y = oy + (ay[i] + (by[i] - ay[i]) * e) * ppu;
      if (x + s < 0 || y + s < 0 || x > W || y > H) continue;
      sx[i] = x; sy[i] = y; vis[k++] = i;
    }
    const packed = this.packed;
    if (s < 3 || k > 4000) this._drawSplat(ctx, k, s, packed, mask, Math.max(1, dpr));
    else this._drawSquares(ctx, k, s, packed, colors, mask, tiles);
    const ms = performance.now() - t0;
    tr.frames++;
    tr.drawMs += ms;
    tr.maxDrawMs = Math.max(tr.maxDrawMs, ms);
    return k;
  }

  /** Many or small items: write their pixels into one image at CSS resolution, then draw it. */
  _drawSplat(ctx, k, s, packed, mask, q) {
    const W = ctx.canvas.width, H = ctx.canvas.height;
    const w = Math.ceil(W / q), h = Math.ceil(H / q);
    const t = this._splatTarget(w, h);
    const buf = t.buf32;
    buf.fill(0);
    const side = Math.max(1, Math.round(s / q));
    const { sx, sy, vis } = this;
    const paint = (i) => {
      const px = Math.round(sx[i] / q), py = Math.round(sy[i] / q);
      const x0 = px < 0 ? 0 : px, y0 = py < 0 ? 0 : py;
      const x1 = Math.min(w, px + side), y1 = Math.min(h, py + side);
      const c = packed[i];
      for (let y = y0; y < y1; y++) {
        const row = y * w;
        if (x1 - x0 > 8) buf.fill(c, row + x0, row + x1);  // a call pays only for longer runs
        else for (let x = row + x0; x < row + x1; x++) buf[x] = c;
      }
    };
    const dot = (matching) => {  // items of one pixel (a million on screen): one write each
      for (let j = 0; j < k; j++) {
        const i = vis[j];
        if (matching !== null && !mask[i] === matching) continue;
        const px = Math.round(sx[i] / q), py = Math.round(sy[i] / q);
        if (px >= 0 && py >= 0 && px < w && py < h) buf[py * w + px] = packed[i];
      }
    };
    if (side === 1) {
      if (mask) { dot(false); dot(true); } else dot(null);
    } else if (mask) {
      for (let j = 0; j < k; j++) if (!mask[vis[j]]) paint(vis[j]);
      for (let j = 0; j < k; j++) if (mask[vis[j]]) paint(vis[j]);
    } else {
      for (let j = 0; j < k; j++) paint(vis[j]);
    }
    t.ctx.putImageData(t.img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(t.canvas, 0, 0, w * q, h * q);
  }

  /** Few, larger items: squares in their colour, or their thumbnail when its tiles are at hand. */
  _drawSquares(ctx, k, s, packed, colors, mask, tiles) {
    if (!this.css) {
      this.css = new Array(packed.length);
      for (let i = 0; i < packed.length; i++) {
        const c = packed[i];
        this.css[i] = `rgb(${c & 255},${(c >>> 8) & 255},${(c >>> 16) & 255})`;
      }
    }
    const useThumbs = tiles && s >= 10 && k <= 1500;
    const level = useThumbs ? tiles.levelFor(s) : 0;
    const load = k <= 300;  // few and large: fetch their thumbnails, they arrive during the move
    const { sx, sy, vis, css } = this;
    const one = (i) => {
      if (useThumbs && tiles.draw(ctx, i, level, sx[i], sy[i], s, s, load)) return;
      ctx.fillStyle = css[i];
      ctx.fillRect(sx[i], sy[i], s, s);
    };
    if (mask) {
      ctx.globalAlpha = 0.14;
      for (let j = 0; j < k; j++) if (!mask[vis[j]]) one(vis[j]);
      ctx.globalAlpha = 1;
      for (let j = 0; j < k; j++) if (mask[vis[j]]) one(vis[j]);
    } else {
      for (let j = 0; j < k; j++) one(vis[j]);
    }
  }
}
