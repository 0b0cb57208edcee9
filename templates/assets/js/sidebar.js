// The sidebar: a drawer on small screens, with the named regions and the facets; and the search
// box, match count and result list, all drawn from the app state.
import { SearchUI, loadTextSearch, fitItems } from './search.js';
import { FacetsUI } from './facets.js';
import { isPhone } from './util.js';

const $ = (id) => document.getElementById(id);

export class Sidebar {
  constructor() {
    this.root = $('sidebar');
    this.toggleBtn = $('filters-toggle');
    this.set(!isPhone() && window.innerWidth >= 1100);
    this.toggleBtn.addEventListener('click', () => this.set(!this.isOpen));
    $('sidebar-close').addEventListener('click', () => { this.set(false); this.toggleBtn.focus(); });
    swallowClosingTaps(this);
  }

  get isOpen() { return document.body.classList.contains('sidebar-open'); }

  /** The drawer covers the stage on a phone: there it is an overlay a tap outside closes. */
  get isOverlay() { return isPhone() && this.isOpen; }

  set(open) {
    const opening = open && !this.isOpen;
    document.body.classList.toggle('sidebar-open', open);
    document.body.classList.toggle('sidebar-closed', !open);
    this.toggleBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (opening) this.root.scrollTop = 0;   // the drawer always opens at its top
    if (opening && isPhone()) $('sidebar-close').focus({ preventScroll: true });
  }

  /** Close the drawer on a phone (where it covers the stage). */
  closeOnPhone() {
    if (isPhone()) this.set(false);
  }
}

/**
 * A tap or click outside the open drawer closes it, and nothing else: the whole gesture (pointer
 * down, up and the click) is kept from the mosaic and whatever else lies under the finger.
 */
function swallowClosingTaps(sidebar) {
  let swallowing = null;   // the pointer id whose gesture closed the drawer
  const stop = (e) => { e.preventDefault(); e.stopPropagation(); e.stopImmediatePropagation(); };
  window.addEventListener('pointerdown', (e) => {
    if (!sidebar.isOverlay) return;
    if (sidebar.root.contains(e.target) || sidebar.toggleBtn.contains(e.target)) return;
    swallowing = e.pointerId;
    stop(e);
    sidebar.set(false);
  }, { capture: true });
  for (const type of ['pointerup', 'pointercancel', 'click', 'mousedown', 'mouseup']) {
    window.addEventListener(type, (e) => {
      if (swallowing === null) return;
      if (type.startsWith('pointer') && e.pointerId !== swallowing) return;
      stop(e);
      if (type === 'click' || type === 'pointercancel') swallowing = null;
    }, { capture: true });
  }
  // a touch gesture ends without a click when the finger moved: stop swallowing at the next down
  window.addEventListener('pointerdown', (e) => { if (swallowing !== null && e.pointerId !== swallowing) swallowing = null; }, { capture: true });
}

/**
 * Search box, regions and facets, following the app's filters. viewer: the Viewer (thumbnails,
 * fitting matches); marks: the Marks painter (matches stand out); regions(): the Regions or null.
 */
export function setupFilters(app, sidebar, { viewer, marks, regions = () => null }) {
  const search = new SearchUI(app.coll, {
    onInput: (q) => app.setQuery(q),
    onPick: (i) => { app.open(i, { fly: true }); sidebar.closeOnPhone(); },
    onStep: (d) => app.step(d),
    onFirstFocus: () => { loadTextSearch(app).catch(() => {}); },
    onShowMatches: () => { sidebar.closeOnPhone(); fitItems(viewer, app.result.matches); },
    onRegion: (r) => { sidebar.closeOnPhone(); regions()?.flyTo(r.id); },
  }, {
    tiles: () => viewer.tiles,
    regions: (q) => regions()?.match(q) || [],
  });
  const facets = new FacetsUI(app);
  $('filters-clear').addEventListener('click', () => app.clearFilters());
  const update = () => {
    search.setQuery(app.filters.q);
    search.render(app.result, app.stepPos, app.filters.q);
    facets.render(app.result);
    marks.setSearch(app.result.active ? app.result.matches : null);
    const nf = facets.activeCount();
    $('filters-badge').hidden = !nf;
    $('filters-badge').textContent = nf ? String(nf) : '';
    $('filters-clear').hidden = !app.result.active;
  };
  app.addEventListener('change', (e) => {
    const { what } = e.detail;
    if (what === 'filters') update();
    else if (what === 'item' && app.result.active) search.renderPos(app.result, app.stepPos);
  });
  return { search, update };
}

/** Fill the sidebar's "Regions" list (the section stays hidden for a site without regions). */
export function showRegions(regions, sidebar) {
  regions.renderList($('regions'), $('region-list'), () => sidebar.closeOnPhone());
}
