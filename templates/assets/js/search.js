// Search box, match count, ranked result list (with thumbnails), matching regions, stepping
// through the matches in rank order, and "show matches".
import { el, clear, fmt } from './util.js';
import { openWorkerSearch } from './textsearch.js';

const LIST_MAX = 200;
const THUMB = 40;   // result thumbnails, CSS px
const THUMB_PAUSE = 250;  // ms: thumbnails are cut once typing pauses (each fetches and decodes mosaic tiles)

export class SearchUI {
  /**
   * handlers: {onInput(q), onPick(i), onStep(d), onFirstFocus(), onShowMatches(), onRegion(region)};
   * tiles(): the viewer's CellTiles (thumbnails cut from the mosaic) or null;
   * regions(q): regions matching the query [{id, label, count}].
   */
  constructor(coll, handlers, { tiles = () => null, regions = () => [] } = {}) {
    this.coll = coll;
    this.h = handlers;
    this.tiles = tiles;
    this.regions = regions;
    this.input = document.getElementById('search');
    this.status = document.getElementById('search-status');
    this.stepBox = document.getElementById('search-step');
    this.stepPos = document.getElementById('step-pos');
    this.results = document.getElementById('results');
    this.list = document.getElementById('result-list');
    this.more = document.getElementById('result-more');
    this.regionBox = document.getElementById('result-regions');
    this.regionList = document.getElementById('result-region-list');
    this.observer = 'IntersectionObserver' in window
      ? new IntersectionObserver((entries) => this._showThumbs(entries), { root: document.getElementById('sidebar'), rootMargin: '200px' })
      : null;
    this.input.addEventListener('input', () => this.h.onInput(this.input.value));
    // the index is fetched when the visitor first comes to the box, not with the page
    this.input.addEventListener('focus', () => this.h.onFirstFocus(), { once: true });
    document.getElementById('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.h.onStep(1);
    });
    this.input.addEventListener('keydown', (e) => {
      const step = { Enter: e.shiftKey ? -1 : 1, ArrowDown: 1, ArrowUp: -1 }[e.key];
      if (step && this.input.value.trim()) { e.preventDefault(); this.h.onStep(step); }
      if (e.key === 'Escape') {
        e.stopPropagation();
        if (this.input.value) { this.input.value = ''; this.h.onInput(''); } else this.input.blur();
      }
    });
    this.list.addEventListener('click', (e) => {
      const b = e.target.closest('.result-btn');
      if (b) this.h.onPick(Number(b.dataset.item));
    });
    // arrows move along the result list
    this.results.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const btns = [...this.results.querySelectorAll('.result-btn')];
      const k = btns.indexOf(document.activeElement);
      if (k < 0) return;
      e.preventDefault();
      e.stopPropagation();
      btns[Math.max(0, Math.min(btns.length - 1, k + (e.key === 'ArrowDown' ? 1 : -1)))].focus();
    });
    document.getElementById('step-prev').addEventListener('click', () => this.h.onStep(-1));
    document.getElementById('step-next').addEventListener('click', () => this.h.onStep(1));
    document.getElementById('show-matches').addEventListener('click', () => this.h.onShowMatches());
  }

  setQuery(q) {
    if (this.input.value !== q) this.input.value = q;
  }

  /** result: Filters.compute() output; pos: index of the current match in result.matches, or -1. */
  render(result, pos, q = '') {
    const { n } = this.coll;
    this._renderRegions(q);
    if (!result.active) {
      this.status.textContent = '';
      this.status.dataset.count = '';
      this.stepBox.hidden = true;
      this.results.hidden = true;
      document.body.classList.remove('is-filtered');
      this._renderRows([]);
      return;
    }
    document.body.classList.add('is-filtered');
    const c = result.count;
    this.status.dataset.count = String(c);
    this.status.textContent = c === 0 ? `No matches among ${fmt(n)} items`
      : `${fmt(c)} of ${fmt(n)} items match${result.ranked && c > 1 ? ', best first' : ''}`;
    this.stepBox.hidden = c === 0;
    this.results.hidden = false;
    const m = result.matches;
    this._renderRows(m.subarray(0, LIST_MAX));
    this._thumbsLater();  // the list changed: its thumbnails wait for the next pause
    this.more.hidden = m.length <= LIST_MAX;
    this.more.textContent = m.length > LIST_MAX ? `and ${fmt(m.length - LIST_MAX)} more: refine the search, or step through them with ‹ ›` : '';
    this.renderPos(result, pos);
  }

  /**
   * The result list shows items (best first). Its rows are kept and refilled rather than made
   * anew at each keystroke (a million-item collection's frame was mostly new rows); a row's
   * thumbnail is cut again only when its item changed.
   */
  _renderRows(items) {
    const rows = this.list.children;
    while (rows.length > items.length) this.list.lastChild.remove();
    for (let j = 0; j < items.length; j++) {
      const i = items[j];
      let b = rows[j] && rows[j].firstChild;
      if (!b) {
        b = el('button', { class: 'result-btn', attrs: { type: 'button', 'data-rank': j + 1 } },
          el('span', { class: 'result-thumb', attrs: { 'aria-hidden': 'true' } }), el('span', { class: 'result-title' }));
        this.list.append(el('li', {}, b));
      } else if (b.dataset.item === String(i)) continue;
      b.dataset.item = String(i);
      const [thumb, title] = b.children;
      title.textContent = this.coll.title[i] || 'Untitled';
      thumb.dataset.item = String(i);
      if (thumb.firstChild) thumb.firstChild.remove();
      if (this.observer) { this.observer.unobserve(thumb); this.observer.observe(thumb); }
    }
  }

  /** Regions whose label matches the query, above the items. */
  _renderRegions(q) {
    if (!this.regionBox) return;
    clear(this.regionList);
    const hits = q.trim() ? this.regions(q) : [];
    for (const r of hits) {
      const b = el('button', { class: 'region-btn', attrs: { type: 'button', 'data-region': r.id } },
        el('span', { class: 'region-name', text: r.label }), el('span', { class: 'facet-count', text: fmt(r.count) }));
      b.addEventListener('click', () => this.h.onRegion(r));
      this.regionList.append(el('li', {}, b));
    }
    this.regionBox.hidden = !hits.length;
    if (hits.length && this.results.hidden) this.results.hidden = false;
  }

  /**
   * Thumbnails of the results scrolled into view, cut from the mosaic's tiles once the list has
   * held still for THUMB_PAUSE: while the visitor types, the tiles they need would take the
   * cores from the next keystroke.
   */
  _showThumbs(entries) {
    const pending = (this._pendingThumbs ||= new Map());
    for (const e of entries) pending.set(e.target, e.isIntersecting);
    this._thumbsLater();
  }

  _thumbsLater() {
    clearTimeout(this._thumbTimer);
    if (this._pendingThumbs && this._pendingThumbs.size) this._thumbTimer = setTimeout(() => this._cutThumbs(), THUMB_PAUSE);
  }

  _cutThumbs() {
    const tiles = this.tiles();
    if (!tiles) return;
    for (const [thumb, inView] of this._pendingThumbs) {
      if (!inView || !thumb.isConnected || thumb.firstChild) continue;
      this.observer.unobserve(thumb);
      thumb.append(tiles.cellCanvas(Number(thumb.dataset.item), THUMB));
    }
    this._pendingThumbs.clear();
  }

  renderPos(result, pos) {
    this.stepPos.textContent = pos >= 0 ? `${fmt(pos + 1)} / ${fmt(result.count)}` : `${fmt(result.count)}`;
    for (const b of this.list.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
    if (pos >= 0 && pos < LIST_MAX) {
      const b = this.list.children[pos] && this.list.children[pos].firstChild;
      if (!b) return;
      b.setAttribute('aria-current', 'true');
      // only while the list is on screen: a closed drawer keeps its place (it opens at its top)
      if (document.body.classList.contains('sidebar-open') && b.offsetParent) b.scrollIntoView({ block: 'nearest' });
    }
  }
}

let textSearch = null;
/**
 * The ranked text search (data/textindex.json and MiniSearch, on a worker), fetched once: when
 * the visitor first comes to the search box, or at once for a link that holds a query. A query
 * typed while it loads waits for it; only where it cannot load do the filters search the titles
 * (by the same rule).
 */
export function loadTextSearch(app) {
  const url = app.coll.raw && app.coll.raw.text_index;
  if (!url) return Promise.resolve(null);
  if (!textSearch) {
    document.body.dataset.searchIndex = 'loading';
    textSearch = openWorkerSearch(url).then(async (ts) => {
      app.filters.setTextSearch(ts);
      if (app.filters.q) await app.setQuery(app.pendingQ ?? app.filters.q);  // ranked, not titles only
      document.body.dataset.searchIndex = 'ready';
      return ts;
    }).catch((err) => {
      console.warn('text search unavailable, searching titles only', err);
      textSearch = null;
      document.body.dataset.searchIndex = 'failed';
      return null;
    }).finally(() => { app.textLoading = null; });
    app.textLoading = textSearch;
  }
  return textSearch;
}

/** Bring the view to items (fit their bounds in the current layout, with a margin). */
export function fitItems(viewer, items) {
  if (!items || !items.length) return;
  if (items.length === 1) { viewer.flyTo(items[0]); return; }
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const i of items) {
    const r = viewer.itemRect(i);
    x0 = Math.min(x0, r.x); y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.w); y1 = Math.max(y1, r.y + r.h);
  }
  const pad = Math.max(x1 - x0, y1 - y0) * 0.06 + (viewer.itemRect(items[0]).w || 0);
  // the part of the stage the record panel covers is left out (the rectangle grows under it)
  const ins = viewer.insets(), W = viewer.el.clientWidth, H = viewer.el.clientHeight;
  const fw = W / Math.max(1, W - ins.right), fh = H / Math.max(1, H - ins.bottom);
  viewer.osd.viewport.fitBounds(new OpenSeadragon.Rect(x0 - pad, y0 - pad, (x1 - x0 + 2 * pad) * fw, (y1 - y0 + 2 * pad) * fh));
}
