// Facet lists (categorical fields) with counts, and year-range filters with a histogram.
// Keys are column names: every lookup by key goes through a Map.
import { el, clear, fmt } from './util.js';

const SHOW = 8;

export class FacetsUI {
  constructor(app) {
    const coll = (this.coll = app.coll);
    this.app = app;
    this.filters = app.filters;
    this.root = document.getElementById('facets');
    this.expanded = new Set();
    this.groups = new Map();
    const label = (key) => (coll.fields.find((f) => f.key === key) || {}).label || key;
    let k = 0;
    for (const key of coll.facets.keys()) {
      const hid = `facet-h-${k++}`;  // ids from a counter: a column name may hold anything
      const g = el('section', { class: 'facet', attrs: { 'aria-labelledby': hid } });
      const h = el('h3', { class: 'section-title', text: label(key), attrs: { id: hid } });
      const list = el('ul', { class: 'facet-list', attrs: { 'aria-labelledby': hid } });
      const more = el('button', { class: 'linklike facet-more', attrs: { type: 'button' } });
      more.addEventListener('click', () => {
        if (this.expanded.has(key)) this.expanded.delete(key); else this.expanded.add(key);
        this.render(this.last);
      });
      g.append(h, list, more);
      this.root.append(g);
      this.groups.set(key, { list, more });
    }
    this.yearUI = new Map();
    for (const [key, all] of coll.years) {
      const ys = all.filter((y) => y !== null && Number.isFinite(y));
      const hid = `years-h-${k++}`;
      if (!ys.length) continue;
      let lo = Infinity, hi = -Infinity;
      for (const y of ys) { if (y < lo) lo = y; if (y > hi) hi = y; }
      const g = el('section', { class: 'facet facet-years', attrs: { 'aria-labelledby': hid } });
      const h = el('h3', { class: 'section-title', text: label(key), attrs: { id: hid } });
      const hist = el('div', { class: 'histogram', attrs: { 'aria-hidden': 'true' } });
      const from = el('input', { class: 'year-input', attrs: { type: 'number', min: lo, max: hi, step: 1, value: lo, 'aria-label': `${label(key)} from`, inputmode: 'numeric' } });
      const to = el('input', { class: 'year-input', attrs: { type: 'number', min: lo, max: hi, step: 1, value: hi, 'aria-label': `${label(key)} to`, inputmode: 'numeric' } });
      const reset = el('button', { class: 'linklike', text: 'Any', attrs: { type: 'button' } });
      const row = el('div', { class: 'year-row' }, from, el('span', { class: 'dash', text: '–' }), to, reset);
      // what the visitor typed is kept: a "from" after "to" moves "to" up to it (and the other
      // way round), never swaps the two (typing 2019 then 2021 after a 2018 bar gives 2019-2021)
      const apply = (typed) => {
        let a = Math.round(Number(from.value)), b = Math.round(Number(to.value));
        if (!from.value.trim() || !Number.isFinite(a)) a = lo;
        if (!to.value.trim() || !Number.isFinite(b)) b = hi;
        if (a > b) { if (typed === from) b = a; else a = b; }
        app.setYears(key, a <= lo && b >= hi ? null : [a, b]);
      };
      from.addEventListener('change', () => apply(from));
      to.addEventListener('change', () => apply(to));
      reset.addEventListener('click', () => app.setYears(key, null));
      // a bar of the histogram chooses its span of years
      hist.addEventListener('click', (e) => {
        const bar = e.target.closest('.bar');
        if (!bar) return;
        app.setYears(key, [Number(bar.dataset.from), Number(bar.dataset.to)]);
      });
      g.append(h, hist, row);
      this.root.append(g);
      this.yearUI.set(key, { lo, hi, hist, from, to, reset });
    }
    if (!this.root.children.length) this.root.append(el('p', { class: 'muted', text: 'This collection has no filters.' }));
  }

  render(result) {
    this.last = result;
    for (const [key, f] of this.coll.facets) {
      const { list, more } = this.groups.get(key);
      const counts = result.facetCounts.get(key);
      const sel = this.filters.facets.get(key) || new Set();
      const order = f.values.map((v, j) => j).sort((a, b) => counts[b] - counts[a] || (f.values[a] < f.values[b] ? -1 : 1));
      const expanded = this.expanded.has(key);
      // chosen values are always shown
      const shown = order.filter((j, k) => expanded || k < SHOW || sel.has(f.values[j]));
      clear(list);
      for (const j of shown) {
        const v = f.values[j];
        const on = sel.has(v);
        const b = el('button', {
          class: 'facet-btn',
          attrs: { type: 'button', 'aria-pressed': on ? 'true' : 'false', 'data-facet': key, 'data-value': v },
        }, el('span', { class: 'facet-check', attrs: { 'aria-hidden': 'true' } }),
        el('span', { class: 'facet-value', text: v || '(empty)' }),
        el('span', { class: 'facet-count', text: fmt(counts[j]) }));
        if (!counts[j] && !on) b.classList.add('is-zero');
        b.addEventListener('click', () => this.app.toggleFacet(key, v));
        list.append(el('li', {}, b));
      }
      more.hidden = f.values.length <= SHOW;
      more.textContent = expanded ? 'Show fewer' : `Show all ${fmt(f.values.length)}`;
    }
    for (const [key, u] of this.yearUI) this._renderYears(key, u, result.yearCounts.get(key));
  }

  _renderYears(key, u, counts) {
    const r = this.filters.years.get(key);
    u.from.value = r ? r[0] : u.lo;
    u.to.value = r ? r[1] : u.hi;
    u.reset.hidden = !r;
    const span = u.hi - u.lo + 1;
    const nb = Math.min(40, span);
    const width = span / nb;
    const bins = new Array(nb).fill(0);
    if (counts) for (const [y, c] of counts) bins[Math.min(nb - 1, Math.floor((y - u.lo) / width))] += c;
    const max = Math.max(1, ...bins);
    clear(u.hist);
    bins.forEach((c, b) => {
      const y0 = Math.round(u.lo + b * width), y1 = Math.round(u.lo + (b + 1) * width) - 1;
      const bar = el('span', { class: 'bar' });
      bar.style.height = `${c ? Math.max(4, (100 * c) / max) : 0}%`;
      if (r && (y1 < r[0] || y0 > r[1])) bar.classList.add('is-out');
      bar.title = `${y0}${y1 > y0 ? `–${y1}` : ''}: ${fmt(c)}`;
      bar.dataset.from = String(y0);
      bar.dataset.to = String(Math.max(y0, y1));
      u.hist.append(bar);
    });
    u.hist.dataset.range = `${u.lo}–${u.hi}`;
  }

  /** Number of active filters (for the badge). */
  activeCount() {
    let n = this.filters.years.size;
    for (const s of this.filters.facets.values()) n += s.size;
    return n;
  }
}
