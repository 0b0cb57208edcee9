// Keys: / search, arrows move between items (in the grid's order of cells), Enter opens,
// Escape closes the record (or the drawer on a phone).
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
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || about.open) return;
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
        cursor = viewer.centreItem();
        if (cursor < 0) cursor = result.active && result.count ? result.matches[0] : coll.cellToItem.find((j) => j >= 0);
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
}
