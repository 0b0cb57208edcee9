// The app's state: the filters and their result, the open item, the keyboard cursor and the layout.
// Every change is announced by one 'change' event whose detail says what changed:
//   filters {push}                   the filters and this.result
//   item    {push, fly, immediate}   this.item opened (a number) or closed (null)
//   full    {push}                   this.full: the open item shown alone at full resolution
//   cursor                           this.cursor moved (keyboard)
//   layout  {push, changed, keepView}   this.layout (or this.groupKey for the groups) changed
//   view    {view}                   a view to show (from a link); without view: the visitor moved it
//   fit                              show the whole layout
// detail.fromUrl is true while a state from the address is applied. No DOM here: the viewer,
// panel, sidebar, address and search by image subscribe.
import { Filters } from './filters.js';
import { layoutChoices } from './layouts.js';

export class App extends EventTarget {
  constructor(coll, { groupKey = null } = {}) {
    super();
    this.coll = coll;
    this.groupKey = groupKey;  // the facet the groups layout gathers by, or null
    this.layouts = new Set(layoutChoices(coll, !!groupKey).map((c) => c.name));  // layout names offered
    this.filters = new Filters(coll);
    this.result = this.filters.compute();
    this.item = null;
    this.pendingQ = null;      // a query typed whose ranking is on its way (setQuery)
    this.textLoading = null;   // while the text search loads (search.js loadTextSearch): its promise
    this.full = false;         // the open item shown alone at full resolution (fullres.js)
    this.cursor = -1;
    this.stepPos = -1;         // the open item's place among the matches, or -1
    this.layout = 'grid';
    this.shownGroupKey = null; // the key the groups layout was last shown by
    this.applying = false;
  }

  emit(what, detail = {}) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, fromUrl: this.applying, ...detail } }));
  }

  // ---- filters ----

  /**
   * The query typed. With the text search on a worker, the result follows when its ranking
   * comes (filters.q is the query of the result shown; a query typed meanwhile wins). Resolves
   * once the result for q is shown, or another query has replaced it.
   */
  setQuery(q) {
    q = String(q);
    const f = this.filters;
    this.pendingQ = q;
    if (this.textLoading && !f.text) {  // the index is on its way: rank with it, not the titles
      return this.textLoading.then(() => (this.pendingQ === q ? this.setQuery(q) : undefined));
    }
    if (f.hasRanking(q)) {
      this.pendingQ = null;
      f.q = q;
      this.refilter(false);
      return Promise.resolve();
    }
    const text = f.text;
    const show = () => {
      this.pendingQ = null;
      f.q = q;
      this.refilter(false);
    };
    return text.search(q).then((list) => {
      if (this.pendingQ !== q || f.text !== text) return;  // replaced meanwhile: a late answer is dropped
      f.setRanking(q, list);
      show();
    }, (err) => {
      console.warn('text search failed, searching titles only', err);
      if (this.pendingQ === q) show();
    });
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
    if (i !== this.item) this.full = false;
    this.item = i;
    this.cursor = i;
    this.stepPos = this._posOf(i);
    this.emit('item', { fly, immediate, push: !replace });
  }

  /** Show the open item alone at full resolution (on) or go back to the collection. */
  setFull(on, { push = true } = {}) {
    on = !!on && this.item !== null;
    if (on === this.full) return;
    this.full = on;
    this.emit('full', { push });
  }

  close() {
    if (this.item === null) return;
    this.item = null;
    this.full = false;
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
    if (!this.layouts.has(layout)) layout = 'grid';
    const key = layout === 'groups' ? this.groupKey : null;
    const changed = layout !== this.layout || key !== this.shownGroupKey;
    this.layout = layout;
    this.shownGroupKey = key;
    this.emit('layout', { push, changed, keepView });
  }

  /** Gather the groups layout by another categorical column (any facet), and show it. */
  setGroupKey(key, { push = true, keepView = false } = {}) {
    if (!this.coll.facets.has(key) || !this.layouts.has('groups')) return;
    this.groupKey = key;
    this.setLayout('groups', { push, keepView });
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
      this.pendingQ = null;
      this.refilter();
      if (!f.hasRanking(f.q)) this.setQuery(f.q);  // titles first, its ranking when it comes
      if (s.groupBy && this.coll.facets.has(s.groupBy)) this.groupKey = s.groupBy;
      this.setLayout(s.layout, { keepView: !!s.view });
      if (s.view) this.emit('view', { view: s.view });
      else if (first && s.layout !== 'grid') this.emit('fit');
      if (s.item !== null && s.item < this.coll.n) {
        this.open(s.item, { fly: !s.view, immediate: first });
        this.setFull(s.full);
      } else this.close();
    } finally {
      this.applying = false;
    }
  }

  /** The state for the address; view: the viewer's current view. */
  snapshot(view = null) {
    const facets = new Map([...this.filters.facets].map(([k, s]) => [k, [...s]]));
    return { item: this.item, full: this.full, q: this.filters.q, facets, years: new Map(this.filters.years), layout: this.layout, groupBy: this.layout === 'groups' ? this.groupKey : null, view };
  }
}
