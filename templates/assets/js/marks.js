// Marks that make chosen items stand out in every layout, drawn on the viewer's overlay canvas
// above the dimmed rest: text-search matches (a ring, so a match that is a speck on the map
// still shows) and search-by-image results (a stronger, glowing ring, the best three brighter).
// Positions come from viewer.itemRect, which every layout provides.

const MAX_MARKS = 4000;   // beyond this many, the dimming alone shows where the matches are
const MIN_RING = 7;       // a ring is at least this radius (CSS px) around a tiny item

export class Marks {
  constructor(viewer) {
    this.viewer = viewer;
    this.search = null;   // Int32Array of matches, or null
    this.image = null;    // image-search results, best first, or null (these win over the search's)
  }

  setSearch(items) {
    this.search = items && items.length && items.length <= MAX_MARKS ? items : null;
    this.viewer.schedule();
  }

  setImage(items) {
    this.image = items && items.length ? items : null;
    this.viewer.schedule();
  }

  /** The painter for the viewer's overlay canvas. */
  paint(ctx, view, dpr) {
    const strong = !!this.image;
    const items = this.image || this.search;
    if (!items) return;
    const v = this.viewer;
    const r0 = view.rect;
    ctx.save();
    for (let k = items.length - 1; k >= 0; k--) {   // the best drawn last, on top
      const i = items[k];
      const r = v.itemRect(i);
      if (r.x + r.w < r0.x || r.y + r.h < r0.y || r.x > r0.x + r0.w || r.y > r0.y + r0.h) continue;
      const [x, y] = view.toPx(r.x, r.y);
      const w = r.w * view.ppu, h = r.h * view.ppu;
      const top = strong && k < 3;
      ctx.lineWidth = (strong ? (top ? 3.5 : 2.5) : 1.75) * dpr;
      ctx.strokeStyle = strong ? '#ffd27f' : 'rgba(158, 203, 255, 0.95)';
      ctx.shadowColor = 'rgba(255, 200, 110, 0.9)';
      ctx.shadowBlur = strong ? (top ? 16 : 9) * dpr : 0;  // blur is slow: only for the few image results
      if (w < 2 * MIN_RING * dpr) {
        ctx.beginPath();
        ctx.arc(x + w / 2, y + h / 2, Math.max(MIN_RING * dpr, w * 0.75), 0, 2 * Math.PI);
        ctx.stroke();
      } else {
        const pad = Math.max(1.5 * dpr, w * 0.03);
        ctx.strokeRect(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
      }
    }
    ctx.restore();
  }
}
