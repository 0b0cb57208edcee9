// The app's state: the filters and their result, the open item, the keyboard cursor and the layout.
// Every change is announced by one 'change' event whose detail says what changed:
//   filters {push}                   the filters and this.result
//   item    {push, fly, immediate}   this.item opened (a number) or closed (null)
//   cursor                           this.cursor moved (keyboard)
//   layout  {push, changed, keepView}
//   view    {view}                   a view to show (from a link); without view: the visitor moved it
//   fit                              show the whole layout
// detail.fromUrl is true while a state from the address is applied. No DOM here: the viewer,
// panel, sidebar, address and search by image subscribe.
import { Filters } from './filters.js';

export class App extends EventTarget {
  constructor(coll, { groupKey = null } = {}) {
    super();
    this.coll = coll;
    this.groupKey = groupKey;  // the facet the groups layout gathers by, or null
    this.filters = new Filters(coll);
    this.result = this.filters.compute();
    this.item = null;
    this.cursor = -1;
    this.stepPos = -1;         // the open item's place among the matches, or -1
    this.layout = 'grid';
    this.applying = false;
  }

  emit(what, detail = {}) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, fromUrl: this.applying, ...detail } }));
  }

  // ---- filters ----

  setQuery(q) {
    this.filters.q = String(q);
    this.refilter(false);
  }

  /** Values chosen for a facet (an empty list clears it); unknown facets are ignored. */
  setFacet(key, values, push = true) {
    if (!this.coll.facets.has(key)) return;
    if (values.length) this.filters.facets.set(key, new Set(values));
    else this.filters.facets.delete(key);
    this.refilter(push);
  }

  toggleFacet(key, value) {
    const sel = new Set(this.filters.facets.get(key) || []);
    if (sel.has(value)) sel.delete(value); else sel.add(value);
    this.setFacet(key, [...sel]);
  }

  /** A year range [lo, hi] for a year field, or null for any year. */
  setYears(key, range) {
    if (!this.coll.years.has(key)) return;
    if (range) this.filters.years.set(key, range);
    else this.filters.years.delete(key);
    this.refilter(true);
  }

  clearFilters() {
    this.filters.q = '';
    this.filters.facets.clear();
    this.filters.years.clear();
    this.refilter(true);
  }

  refilter(push = false) {
    this.result = this.filters.compute();
    this.stepPos = this._posOf(this.item);
    this.emit('filters', { push });
  }

  _posOf(i) {
    return i !== null && this.result.active ? this.result.matches.indexOf(i) : -1;
  }

  // ---- items ----

  open(i, { fly = true, replace = false, immediate = false } = {}) {
    if (!(Number.isInteger(i) && i >= 0 && i < this.coll.n)) return;
    this.item = i;
    this.cursor = i;
    this.stepPos = this._posOf(i);
    this.emit('item', { fly, immediate, push: !replace });
  }

  close() {
    if (this.item === null) return;
    this.item = null;
    this.emit('item', { push: true });
  }

  /** Open the next (d = 1) or previous (d = -1) match. */
  step(d) {
    const m = this.result.matches;
    if (!this.result.active || !m.length) return;
    const k = this.stepPos < 0 ? (d > 0 ? 0 : m.length - 1) : (this.stepPos + d + m.length) % m.length;
    this.open(m[k], { fly: true, replace: true });
  }

  setCursor(i) {
    if (!(Number.isInteger(i) && i >= 0 && i < this.coll.n)) return;
    this.cursor = i;
    this.emit('cursor');
  }

  // ---- layout and view ----

  setLayout(layout, { push = true, keepView = false } = {}) {
    if (layout !== 'tsne' && !(layout === 'groups' && this.groupKey)) layout = 'grid';
    const changed = layout !== this.layout;
    this.layout = layout;
    this.emit('layout', { push, changed, keepView });
  }

  /** The visitor moved the view (the address keeps it). */
  viewMoved() {
    if (!this.applying) this.emit('view');
  }

  // ---- the whole state, to and from the address ----

  /** A state from hash.parseHash: filters, layout, view, item; unknown facets and items left out. */
  apply(s, { first = false } = {}) {
    this.applying = true;
    try {
      const f = this.filters;
      f.q = s.q;
      f.facets = new Map([...s.facets].filter(([k, v]) => this.coll.facets.has(k) && v.length).map(([k, v]) => [k, new Set(v)]));
      f.years = new Map([...s.years].filter(([k]) => this.coll.years.has(k)));
      this.refilter();
      this.setLayout(s.layout, { keepView: !!s.view });
      if (s.view) this.emit('view', { view: s.view });
      else if (first && s.layout !== 'grid') this.emit('fit');
      if (s.item !== null && s.item < this.coll.n) this.open(s.item, { fly: !s.view, immediate: first });
      else this.close();
    } finally {
      this.applying = false;
    }
  }

  /** The state for the address; view: the viewer's current view. */
  snapshot(view = null) {
    const facets = new Map([...this.filters.facets].map(([k, s]) => [k, [...s]]));
    return { item: this.item, q: this.filters.q, facets, years: new Map(this.filters.years), layout: this.layout, view };
  }
}
