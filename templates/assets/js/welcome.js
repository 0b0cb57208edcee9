// The first view: on a phone the mosaic fills the whole stage (a tall narrow screen would show a
// square layout as a band across its middle), and a one-line hint on the first visit says how
// the mosaic is arranged, until the visitor dismisses it (for good: kept in localStorage).
import { isPhone, reducedMotion } from './util.js';
import { parseHash } from './hash.js';

const HINT_KEY = 'salon.hint.similar.dismissed';

export function setupWelcome(app, viewer) {
  const s = parseHash(location.hash);
  if (isPhone() && !s.view && s.item === null) keepFilling(app, viewer);
  showHint();
}

/** Fill the stage now, and again when it changes size (the header settling), until the visitor acts. */
function keepFilling(app, viewer) {
  const osd = viewer.osd;
  const refill = () => fillStage(viewer);
  const later = () => viewer.afterFrame(refill);  // once OpenSeadragon has taken the new size in
  const stop = () => {
    osd.removeHandler('resize', later);
    for (const t of ['canvas-press', 'canvas-scroll', 'canvas-pinch', 'canvas-key']) osd.removeHandler(t, stop);
    app.removeEventListener('change', onChange);
  };
  const onChange = (e) => { if (e.detail.what === 'item' || e.detail.what === 'layout' || e.detail.view) stop(); };
  refill();
  osd.addHandler('resize', later);
  for (const t of ['canvas-press', 'canvas-scroll', 'canvas-pinch', 'canvas-key']) osd.addHandler(t, stop);
  app.addEventListener('change', onChange);
}

/** Zoom so the layout covers the stage (no empty bands), centred; the visitor pans the rest. */
export function fillStage(viewer) {
  const L = viewer.points();
  const r = L ? L.rect : viewer.world;
  const W = viewer.el.clientWidth, H = viewer.el.clientHeight;
  if (!r || !(W > 0 && H > 0)) return;
  const ppu = Math.max(W / r.w, H / r.h);   // cover, not contain
  const vp = viewer.osd.viewport;
  const z = (vp.getZoom(false) * ppu) / viewer.ppu(false);
  vp.zoomTo(z, null, true);
  vp.panTo(new OpenSeadragon.Point(r.x + r.w / 2, r.y + r.h / 2), true);
  if (reducedMotion()) vp.applyConstraints(true);
}

function remembered() {
  try { return localStorage.getItem(HINT_KEY) === '1'; } catch { return false; }
}

function showHint() {
  const hint = document.getElementById('hint');
  if (!hint || remembered()) return;
  hint.hidden = false;
  document.getElementById('hint-close').addEventListener('click', () => {
    hint.hidden = true;
    try { localStorage.setItem(HINT_KEY, '1'); } catch { /* private mode: hidden for this visit */ }
  });
}
