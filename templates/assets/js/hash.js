// The state in the URL hash, so a link reproduces what the visitor sees, and its syncing both ways.
// #item=12&full=1&q=boat&f.category=animals&f.category=food&y.date=1900-1910&layout=tsne&v=0.5,0.4,3.2
// layout: grid (default) | tsne | groups (by=COLUMN) | timeline | geo | a --layout name (the app
// keeps only those the collection has). Facet and year keys are column names: kept in Maps.
import { debounce } from './util.js';

export function emptyState() {
  return { item: null, full: false, q: '', facets: new Map(), years: new Map(), layout: 'grid', groupBy: null, view: null };
}

/** The state a hash describes; anything malformed is left out. */
export function parseHash(hash) {
  const s = emptyState();
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const item = p.get('item');
  if (item !== null && /^\d{1,9}$/.test(item)) s.item = Number(item);
  s.full = s.item !== null && p.get('full') === '1';  // the item alone at full resolution
  s.q = p.get('q') || '';
  const layout = p.get('layout');
  if (layout && /^[A-Za-z0-9_-]{1,40}$/.test(layout)) s.layout = layout;
  s.groupBy = s.layout === 'groups' ? p.get('by') : null;
  for (const [k, v] of p) {
    if (k.startsWith('f.') && k.length > 2) {
      const key = k.slice(2);
      if (!s.facets.has(key)) s.facets.set(key, []);
      s.facets.get(key).push(v);
    } else if (k.startsWith('y.') && k.length > 2) {
      const m = /^(-?\d+)-(-?\d+)$/.exec(v);
      if (m) s.years.set(k.slice(2), [Number(m[1]), Number(m[2])]);
    }
  }
  const v = (p.get('v') || '').split(',').map(Number);
  if (v.length === 3 && v.every(Number.isFinite) && v[2] > 0) s.view = { x: v[0], y: v[1], z: v[2] };
  return s;
}

/** The hash of a state ('' for the empty state). */
export function toHash(s) {
  const p = new URLSearchParams();
  if (s.item !== null && s.item !== undefined) p.set('item', String(s.item));
  if (s.full && s.item !== null && s.item !== undefined) p.set('full', '1');
  if (s.q) p.set('q', s.q);
  for (const [k, vals] of s.facets || []) for (const v of vals) p.append(`f.${k}`, v);
  for (const [k, r] of s.years || []) if (r) p.set(`y.${k}`, `${r[0]}-${r[1]}`);
  if (s.layout && s.layout !== 'grid') p.set('layout', s.layout);
  if (s.layout === 'groups' && s.groupBy) p.set('by', s.groupBy);
  if (s.view) p.set('v', [s.view.x.toFixed(5), s.view.y.toFixed(5), s.view.z.toPrecision(4)].join(','));
  const str = p.toString();
  return str ? `#${str}` : '';
}

const currentHash = () => (location.hash === '#' ? '' : location.hash);

/**
 * Keeps the address and the app state in step: every change is written (a new history entry
 * for opening an item or choosing a filter, a replaced one for typing and panning); back,
 * forward and edited links are applied to the app.
 */
export class HashSync {
  constructor(app, getView) {
    this.app = app;
    this.getView = getView;
    this.last = currentHash();  // the hash last written or applied
    this.saveView = debounce(() => this.write(false), 250);
    app.addEventListener('change', (e) => {
      const d = e.detail;
      if (d.fromUrl) return;
      if (d.what === 'view') this.saveView();
      else if (d.what === 'filters' || d.what === 'item' || d.what === 'full' || d.what === 'layout') this.write(!!d.push);
    });
    const onNav = () => {
      if (currentHash() === this.last) return;
      this.last = currentHash();
      app.apply(parseHash(this.last));
    };
    window.addEventListener('popstate', onNav);
    window.addEventListener('hashchange', onNav);
  }

  /** Apply the address the page was opened with. */
  start() {
    this.last = currentHash();
    this.app.apply(parseHash(this.last), { first: true });
  }

  write(push) {
    const h = toHash(this.app.snapshot(this.getView()));
    this.last = h;
    if (h === currentHash()) return;
    const url = `${location.pathname}${location.search}${h}`;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  /** True when the address holds the current state, view included (a copied link reproduces it). */
  inSync() {
    return currentHash() === toHash(this.app.snapshot(this.getView()));
  }
}
