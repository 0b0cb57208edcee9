// The timeline's axis, drawn on the canvas layer under its columns: a baseline, a tick where each
// column starts and the column's label (year, decade, century; "undated" last) centred under it.
// Labels that would overlap a label already placed are left out, so any zoom stays readable.

const FONT_PX = 12;   // CSS px
const GAP_PX = 10;    // least space between two labels, CSS px

/**
 * Which labels to show: centres[k] and widths[k] in px, left to right. A label is kept when it
 * starts at least `gap` px after the last kept one ends; the last column ("undated") is kept
 * before its neighbours so it never disappears. Returns the kept indices, in order.
 */
export function pickLabels(centres, widths, gap = GAP_PX) {
  const n = centres.length;
  if (!n) return [];
  const last = n - 1;
  const lastStart = centres[last] - widths[last] / 2;
  const kept = [];
  let end = -Infinity;
  for (let k = 0; k < last; k++) {
    const a = centres[k] - widths[k] / 2, b = centres[k] + widths[k] / 2;
    if (a >= end + gap && b + gap <= lastStart) { kept.push(k); end = b; }
  }
  kept.push(last);
  return kept;
}

/**
 * Draw the axis of a timeline layout. extra: {axis: [{label, x0, x1, undated}], baseline} in
 * viewport units; view: {toPx, ppu, rect} as in Viewer.draw. Returns the labels drawn on
 * screen, [{label, x}] with x in CSS px (for tests and the console).
 */
export function drawTimeAxis(ctx, view, dpr, extra, alpha = 1) {
  const axis = extra.axis || [];
  if (!axis.length || alpha <= 0) return [];
  const [xa, y] = view.toPx(axis[0].x0, extra.baseline);
  const [xb] = view.toPx(axis[axis.length - 1].x1, extra.baseline);
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = 'rgba(236, 232, 225, 0.45)';
  ctx.lineWidth = dpr;
  ctx.beginPath();
  ctx.moveTo(xa, y + 3 * dpr);
  ctx.lineTo(xb, y + 3 * dpr);
  const centres = [], widths = [];
  ctx.font = `500 ${Math.round(FONT_PX * dpr)}px system-ui, sans-serif`;
  for (const a of axis) {
    const [x0] = view.toPx(a.x0, extra.baseline);
    const [x1] = view.toPx(a.x1, extra.baseline);
    ctx.moveTo(x0, y + 3 * dpr);
    ctx.lineTo(x0, y + 7 * dpr);
    centres.push((x0 + x1) / 2 / dpr);
    widths.push(ctx.measureText(a.label).width / dpr);
  }
  ctx.stroke();
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  const drawn = [];
  for (const k of pickLabels(centres, widths)) {
    const a = axis[k];
    ctx.fillStyle = a.undated ? 'rgba(236, 232, 225, 0.55)' : 'rgba(236, 232, 225, 0.92)';
    ctx.fillText(a.label, centres[k] * dpr, y + 9 * dpr);
    if (centres[k] >= 0 && centres[k] <= ctx.canvas.width / dpr) drawn.push({ label: a.label, x: centres[k] });
  }
  ctx.restore();
  return drawn;
}

/**
 * The years item i's date in year field `key` was read as, when it spans more than one
 * (collection.json `year_ranges`): "1885–1895", "until 1900", "from 1890"; else ''.
 */
export function yearSpan(coll, key, i) {
  const ranges = coll.yearRanges && coll.yearRanges.get(key);
  const r = ranges && Object.hasOwn(ranges, String(i)) ? ranges[String(i)] : null;
  if (!Array.isArray(r) || r.length !== 2) return '';
  const [a, b] = r.map((y) => (Number.isInteger(y) ? y : null));
  if (a !== null && b !== null) return a === b ? '' : `${a}–${b}`;
  if (b !== null) return `until ${b}`;
  if (a !== null) return `from ${a}`;
  return '';
}
