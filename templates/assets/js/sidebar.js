// The sidebar: a drawer on small screens, with the facets; and the search box, match count and
// result list, all drawn from the app state.
import { SearchUI } from './search.js';
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
    // on a phone the drawer closes with a tap outside it
    document.addEventListener('pointerdown', (e) => {
      if (!isPhone() || !this.isOpen) return;
      if (this.root.contains(e.target) || this.toggleBtn.contains(e.target)) return;
      this.set(false);
    });
  }

  get isOpen() { return document.body.classList.contains('sidebar-open'); }

  set(open) {
    document.body.classList.toggle('sidebar-open', open);
    document.body.classList.toggle('sidebar-closed', !open);
    this.toggleBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open && isPhone()) this.root.querySelector('button, input')?.focus();
  }

  /** Close the drawer on a phone (where it covers the stage). */
  closeOnPhone() {
    if (isPhone()) this.set(false);
  }
}

/** Search box and facets, following the app's filters. */
export function setupFilters(app, sidebar) {
  const search = new SearchUI(app.coll, {
    onInput: (q) => app.setQuery(q),
    onPick: (i) => { app.open(i, { fly: true }); sidebar.closeOnPhone(); },
    onStep: (d) => app.step(d),
  });
  const facets = new FacetsUI(app);
  $('filters-clear').addEventListener('click', () => app.clearFilters());
  app.addEventListener('change', (e) => {
    const { what } = e.detail;
    if (what === 'filters') {
      search.setQuery(app.filters.q);
      search.render(app.result, app.stepPos);
      facets.render(app.result);
      const nf = facets.activeCount();
      $('filters-badge').hidden = !nf;
      $('filters-badge').textContent = nf ? String(nf) : '';
      $('filters-clear').hidden = !app.result.active;
    } else if (what === 'item' && app.result.active) {
      search.renderPos(app.result, app.stepPos);
    }
  });
  return search;
}
