// The filter model: ranked text search AND facets (OR within one) AND year ranges.
// Produces a per-item match mask, the matches (best first for a text query, else in the grid's
// reading order) and counts for the facet UI.
// Facet and year keys are CSV column names: they live in Maps, never as object properties.
import { fold } from './rules.js';
import { tokenize, stem } from './textsearch.js';

export class Filters {
  constructor(coll) {
    this.coll = coll;
    this.q = '';
    this.facets = new Map(); // key -> Set of value strings
    this.years = new Map();  // key -> [lo, hi]
    this.text = null;        // the ranked text search (textsearch.js TextSearch) once loaded
    this._titleWords = null; // until then: each title's words, for the same whole-word/prefix rule
    this._ranked = null;     // {q, text, list}: the last query's ranking, reused while only facets change
    // items in reading order of the grid
    const order = [];
    for (const i of coll.cellToItem) if (i >= 0) order.push(i);
    this.gridOrder = Int32Array.from(order);
    this.valueIndex = new Map();
    for (const [k, f] of coll.facets) this.valueIndex.set(k, new Map(f.values.map((v, j) => [v, j])));
    this._yearSpan = new Map();
    this._totals = new Map();  // a field's counts over all items, made once
  }

  /** Use the ranked text search (titles and every searched field) from now on: a TextSearch, or
   * a WorkerSearch (async: App asks it for each query's ranking and hands it to setRanking). */
  setTextSearch(text) {
    this.text = text;
    this._ranked = null;
  }

  /** Whether computing for query q now would rank it with the text search (or needs no ranking). */
  hasRanking(q) {
    const r = this._ranked;
    return !this.text || !this.text.async || !tokenize(fold(q)).length || (!!r && r.q === q && r.text === this.text);
  }

  /** The async text search's ranking of query q. */
  setRanking(q, list) {
    this._ranked = { q, text: this.text, list };
  }

  get active() {
    return this.terms().length > 0 || [...this.facets.values()].some((s) => s.size) || this.years.size > 0;
  }

  /** The query's words as they are matched: folded, split at non-letters, plurals folded. */
  terms() {
    return tokenize(fold(this.q)).map(stem);
  }

  /** Items matching the query, best first. */
  _rank(terms) {
    const r = this._ranked;
    if (r && r.q === this.q && r.text === this.text) return r.list;
    if (this.text && this.text.async) return this._rankTitles(terms);  // until its ranking comes
    const list = this.text ? Int32Array.from(this.text.search(this.q)) : this._rankTitles(terms);
    this._ranked = { q: this.q, text: this.text, list };
    return list;
  }

  /**
   * Before the index arrives: titles only, by the index's rule (every word found as a whole word
   * or the start of one), whole-word matches first, then in the grid's order.
   */
  _rankTitles(terms) {
    const words = (this._titleWords ||= this.coll.title.map((t) => tokenize(fold(t || '')).map(stem)));
    const hits = [];
    for (const i of this.gridOrder) {
      const w = words[i];
      let exact = 0, ok = true;
      for (const t of terms) {
        if (w.includes(t)) exact++;
        else if (!w.some((x) => x.startsWith(t))) { ok = false; break; }
      }
      if (ok) hits.push([i, exact]);
    }
    hits.sort((a, b) => b[1] - a[1]);  // stable: grid order among equals
    return Int32Array.from(hits, (h) => h[0]);
  }

  /** Every item, in item order (made once). */
  _every() {
    return (this._all ||= Int32Array.from({ length: this.coll.n }, (_, i) => i));
  }

  /** The items the mask leaves out (a view of a reused array). */
  _unmatched(mask) {
    const out = (this._rest ||= new Int32Array(mask.length));
    let k = 0;
    for (let i = 0; i < mask.length; i++) if (!mask[i]) out[k++] = i;
    return out.subarray(0, k);
  }

  /** Items failing no constraint but the one whose pass is given (a view of a reused array). */
  _allExcept(fails, pass) {
    const n = fails.length;
    const out = (this._others ||= new Int32Array(n));
    let k = 0;
    for (let i = 0; i < n; i++) if (fails[i] === (pass[i] ? 0 : 1)) out[k++] = i;
    return out.subarray(0, k);
  }

  /** Recompute everything. Returns {active, mask, matches, count, facetCounts, yearCounts}. */
  compute() {
    const { n, facets, years } = this.coll;
    const constraints = []; // {kind, key, pass: Uint8Array}
    // per-item working arrays, kept between calls: a million items' worth a call is slow garbage
    const scratch = (this._scratch ||= []);
    const passArray = () => {
      const k = constraints.length;
      return (scratch[k] ||= new Uint8Array(n));
    };
    const terms = this.terms();
    const ranked = terms.length ? this._rank(terms) : null;
    if (ranked) {
      const pass = passArray().fill(0);
      setAt(pass, ranked);
      constraints.push({ kind: 'text', key: 'q', pass });
    }
    for (const [key, sel] of this.facets) {
      const f = facets.get(key);
      if (!sel.size || !f) continue;
      const codes = f.codes;
      const want = new Uint8Array(f.values.length);
      for (const v of sel) {
        const j = this.valueIndex.get(key).get(v);
        if (j !== undefined) want[j] = 1;
      }
      const pass = passArray();
      for (let i = 0; i < n; i++) { const c = codes[i]; pass[i] = c >= 0 && want[c] ? 1 : 0; }
      constraints.push({ kind: 'facet', key, pass });
    }
    for (const [key, r] of this.years) {
      const ys = years.get(key);
      if (!ys || !r) continue;
      const pass = passArray();
      for (let i = 0; i < n; i++) { const y = ys[i]; pass[i] = y >= r[0] && y <= r[1] ? 1 : 0; }  // NaN: undated
      constraints.push({ kind: 'year', key, pass });
    }
    const active = constraints.length > 0;
    if (!active && this._base) return this._base; // nothing chosen: the same answer every time
    // fails()[i]: how many constraints item i fails (not needed for one constraint and no counts of its own)
    let failsMade = false;
    const fails = () => {
      const f = (this._fails ||= new Uint8Array(n));
      if (!failsMade) { f.fill(0); for (const c of constraints) addFails(f, c.pass); failsMade = true; }
      return f;
    };
    let mask = null;
    let count = n;
    if (constraints.length === 1) {  // the one constraint's pass is the mask
      mask = constraints[0].pass.slice();
      count = ranked ? ranked.length : countOnes(mask);
    } else if (active) {
      mask = new Uint8Array(n);
      count = 0;
      const f = fails();
      for (let i = 0; i < n; i++) if (f[i] === 0) { mask[i] = 1; count++; }
    }
    const order = ranked || this.gridOrder;  // a text query's best first
    let matches = order;  // shared, never written to
    if (mask && !(ranked && constraints.length === 1)) {
      matches = new Int32Array(count);
      let k = 0;
      for (let j = 0; j < order.length; j++) { const i = order[j]; if (mask[i]) matches[k++] = i; }
    }
    // Counts for a field: items passing every constraint except the field's own. Without one of
    // its own, the matches: counted one by one when they are the fewer, else as all items' counts
    // less those of the items that do not match (a word in every title: a few thousand, not a million).
    const own = (kind, key) => constraints.find((c) => c.kind === kind && c.key === key);
    const broad = !mask || count > n / 2;
    const rest = mask && broad ? this._unmatched(mask) : null;
    const tally = (id, size, add, c) => {  // add(counts, items, step): each item's value counted
      const counts = new Int32Array(size);
      if (c) add(counts, this._allExcept(fails(), c.pass), 1);
      else if (!broad) add(counts, matches, 1);
      else {
        if (!this._totals.has(id)) { const t = new Int32Array(size); add(t, this._every(), 1); this._totals.set(id, t); }
        counts.set(this._totals.get(id));
        if (rest) add(counts, rest, -1);
      }
      return counts;
    };
    const facetCounts = new Map();
    for (const [key, f] of facets) {
      const add = (counts, items, step) => countCodes(counts, f.codes, items, step);
      facetCounts.set(key, tally(`facet ${key}`, f.values.length, add, own('facet', key)));
    }
    const yearCounts = new Map();
    for (const [key, ys] of years) {
      if (!this._yearSpan.has(key)) this._yearSpan.set(key, span(ys));
      const [lo, hi] = this._yearSpan.get(key);
      const add = (counts, items, step) => countYears(counts, ys, lo, items, step);
      const counts = tally(`year ${key}`, Math.max(0, hi - lo + 1), add, own('year', key));
      const m = new Map();
      for (let k = 0; k < counts.length; k++) if (counts[k]) m.set(lo + k, counts[k]);
      yearCounts.set(key, m);
    }
    const out = { active, mask, matches, count, facetCounts, yearCounts, ranked: !!ranked };
    if (!active) this._base = out;
    return out;
  }
}

// The hot loops, as small functions of their own: compiled early and kept compiled, whatever the
// rest of compute() does.
function setAt(a, items) {
  for (let k = 0; k < items.length; k++) a[items[k]] = 1;
}

function addFails(fails, pass) {
  for (let i = 0; i < fails.length; i++) fails[i] += 1 - pass[i];
}

function countCodes(counts, codes, items, step) {
  for (let k = 0; k < items.length; k++) { const c = codes[items[k]]; if (c >= 0) counts[c] += step; }
}

function countYears(counts, ys, lo, items, step) {
  for (let k = 0; k < items.length; k++) { const y = ys[items[k]]; if (y === y) counts[(y - lo) | 0] += step; }  // NaN: undated
}

function countOnes(a) {
  let c = 0;
  for (let i = 0; i < a.length; i++) c += a[i];
  return c;
}

function span(ys) {
  let lo = Infinity, hi = -Infinity;
  for (const y of ys) if (!Number.isNaN(y)) { if (y < lo) lo = y; if (y > hi) hi = y; }
  return lo <= hi ? [lo, hi] : [0, -1];
}

/**
 * Run a facet filter and a ranked query once on a throwaway Filters, so the page's filtering code
 * is compiled before the visitor's first click or keystroke (at a million items a cold first
 * compute took ~70 ms more).
 */
export function warmUp(coll) {
  const f = new Filters(coll);
  f.q = 'warm';
  f.setRanking(f.q, f.gridOrder.subarray(0, (3 * coll.n) >> 2));  // most items: every count path
  f.compute();
  const first = coll.facets.entries().next().value;
  if (!first || !first[1].values.length) return;
  f.facets.set(first[0], new Set([first[1].values[0]]));
  f.compute();
}
