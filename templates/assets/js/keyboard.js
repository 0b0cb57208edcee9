// Keys: / search, arrows move between items (in the grid's order of cells), Enter opens,
// Escape closes the record (focus goes back to its item on the mosaic) or the drawer on a phone.
// The skip links reach the mosaic and the search box; on the mosaic the keyboard cursor shows
// its item's title beside the item.
import { isPhone } from './util.js';

const DIRS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** The next item from i in direction (dx, dy) through the grid's cells, skipping empty and filtered-out cells. */
export function cellStep(coll, mask, i, dx, dy) {
  const { cols, rows, cell, cellToItem } = coll;
  let col = cell[i] % cols, row = Math.floor(cell[i] / cols);
  for (let k = 0; k < Math.max(cols, rows); k++) {
    col += dx; row += dy;
    if (col < 0 || row < 0 || col >= cols || row >= rows) return i;
    const j = cellToItem[row * cols + col];
    if (j >= 0 && (!mask || mask[j])) return j;
  }
  return i;
}

export function setupKeyboard(app, { viewer, sidebar, say }) {
  const search = document.getElementById('search');
  const about = document.getElementById('about');
  const coll = app.coll;
  const canvas = viewer.osd.canvas;
  const label = new CursorTitle(app, viewer);
  canvas.setAttribute('aria-label', 'Collection mosaic: arrow keys move between items, Enter opens one');
  skipLinks(app, viewer, sidebar);
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || about.open) return;
    if (document.querySelector('dialog[open]')) return;  // a dialog has the keys
    const tag = (e.target && e.target.tagName) || '';
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (e.target && e.target.isContentEditable);
    if (e.key === '/' && !typing) {
      e.preventDefault();
      sidebar.closeOnPhone();
      search.focus();
      search.select();
      return;
    }
    if (typing) return;
    if (e.key === 'Escape') {
      if (app.item !== null) { app.close(); e.preventDefault(); }
      else if (sidebar.isOpen && isPhone()) { sidebar.set(false); sidebar.toggleBtn.focus(); }
      return;
    }
    const onButton = tag === 'BUTTON' || tag === 'A';
    const dir = Object.hasOwn(DIRS, e.key) ? DIRS[e.key] : null;
    if (dir && !(onButton && !e.target.closest('#stage'))) {
      e.preventDefault();
      const { result } = app;
      let cursor = app.cursor;
      if (cursor < 0) {  // start from what the visitor sees in the middle
        cursor = startItem(app, viewer);
      } else {
        cursor = cellStep(coll, result.mask, cursor, ...dir);
      }
      if (app.item !== null) app.open(cursor, { fly: true, replace: true });
      else { app.setCursor(cursor); viewer.reveal(cursor); say(coll.title[cursor] || 'Untitled'); }
      return;
    }
    if (e.key === 'Enter' && !onButton && app.cursor >= 0) {
      e.preventDefault();
      app.open(app.cursor, { fly: true });
    }
  });
  // coming to the mosaic by keyboard puts the cursor on the item in the middle
  canvas.addEventListener('focus', () => {
    if (!canvas.matches(':focus-visible')) return;
    if (app.cursor < 0) {
      const i = startItem(app, viewer);
      if (i >= 0) { app.setCursor(i); say(coll.title[i] || 'Untitled'); }
    }
    label.update();
  });
  canvas.addEventListener('blur', () => label.update());
  return label;
}

/** The item the keyboard starts from: the one in the middle of the view, else the first match or item. */
function startItem(app, viewer) {
  const { result, coll } = app;
  let i = viewer.centreItem();
  if (i >= 0 && result.mask && !result.mask[i]) i = -1;
  if (i < 0) i = result.active && result.count ? result.matches[0] : coll.cellToItem.find((j) => j >= 0);
  return i ?? -1;
}

/**
 * The skip links focus their target without touching the address (the hash holds the app state):
 * the mosaic (its canvas takes the keys) and the search box.
 */
function skipLinks(app, viewer, sidebar) {
  for (const a of document.querySelectorAll('.skip-link')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      if (a.dataset.skip === 'search') {
        sidebar.closeOnPhone();
        document.getElementById('search').focus();
      } else {
        viewer.osd.canvas.focus();
      }
    });
  }
}

/** The keyboard cursor's item title, beside the item, while the mosaic has the keyboard focus. */
class CursorTitle {
  constructor(app, viewer) {
    this.app = app;
    this.viewer = viewer;
    this.node = document.getElementById('cursor-title');
    app.addEventListener('change', (e) => {
      const w = e.detail.what;
      if (w === 'cursor' || w === 'item' || w === 'layout' || w === 'filters') this.update();
    });
    viewer.osd.addHandler('update-viewport', () => { if (!this.node.hidden) this.place(); });
  }

  get shown() {
    const c = this.viewer.osd.canvas;
    return this.app.cursor >= 0 && document.activeElement === c && c.matches(':focus-visible');
  }

  update() {
    if (!this.node) return;
    if (!this.shown) { this.node.hidden = true; return; }
    this.node.textContent = this.app.coll.title[this.app.cursor] || 'Untitled';
    this.node.dataset.item = String(this.app.cursor);
    this.node.hidden = false;
    this.place();
  }

  /** Under the item (above it when there is no room below), kept inside the stage. */
  place() {
    const v = this.viewer, i = this.app.cursor;
    if (i < 0 || !v.image) return;
    const r = v.itemRect(i);
    const vp = v.osd.viewport;
    const a = vp.pixelFromPoint(new OpenSeadragon.Point(r.x, r.y), true);
    const b = vp.pixelFromPoint(new OpenSeadragon.Point(r.x + r.w, r.y + r.h), true);
    const W = v.el.clientWidth, H = v.el.clientHeight;
    const w = this.node.offsetWidth, h = this.node.offsetHeight;
    let x = (a.x + b.x) / 2 - w / 2, y = b.y + 8;
    if (y + h > H - 8) y = a.y - h - 8;
    x = Math.max(6, Math.min(W - w - 6, x));
    y = Math.max(6, Math.min(H - h - 6, y));
    this.node.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }
}
