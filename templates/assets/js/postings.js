// The ranked text search over typed arrays. MiniSearch (textsearch.js TextSearch) scores every
// item a word or prefix matches through Maps and objects: ~0.7 s for "c" and ~2 s for a word in
// every title at a million items, with a 180 MB index to parse. The build (textindex_prebuild.js)
// therefore has MiniSearch index the documents and lays its index out as postings: every index term
// in sorted order and, for each, the items it occurs in with the term's BM25 score in that item,
// the fields' boosts included. A query then adds weights over flat arrays and sorts by radix: the
// same results in the same order as TextSearch.search (tests/js/textsearch.test.js), ties of scores
// equal to 7 digits going by item order; past the best 10,000 the matches follow in item order.
import { BM25, PREFIX_WEIGHT, queryTerms } from './textsearch.js';

/**
 * The postings of a MiniSearch index (its documented JSON form, mini.toJSON()), for the fields with
 * the boosts given: {count, terms, offsets, items, scores}: the postings of terms[t] are items and
 * scores from offsets[t] to offsets[t + 1], items ascending.
 */
export function postingsOf(json, boosts) {
  const { documentCount: n, documentIds, fieldIds, fieldLength, averageFieldLength } = json;
  const fields = Object.keys(boosts).map((f) => [fieldIds[f], boosts[f]]);
  const entries = [...json.index].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const terms = [], offsets = [0], items = [], scores = [];
  for (const [term, byField] of entries) {
    const acc = new Map();  // item -> score, summed over the fields
    for (const [fid, boost] of fields) {
      const freqs = byField[fid];
      if (!freqs) continue;
      const df = Object.keys(freqs).length;
      for (const [short, tf] of Object.entries(freqs)) {
        const id = documentIds[short];
        const s = boost * bm25(tf, df, n, fieldLength[short][fid], averageFieldLength[fid]);
        acc.set(id, (acc.get(id) || 0) + s);
      }
    }
    terms.push(term);
    for (const id of [...acc.keys()].sort((a, b) => a - b)) { items.push(id); scores.push(acc.get(id)); }
    offsets.push(items.length);
  }
  return { count: n, terms, offsets: Int32Array.from(offsets), items: Int32Array.from(items),
    scores: Float32Array.from(scores) };
}

/** MiniSearch's BM25+ of a term in one field of one item (the same formula and parameters). */
function bm25(tf, df, n, length, avgLength) {
  const { k, b, d } = BM25;
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return idf * (d + tf * (k + 1) / (tf + k * (1 - b + b * length / avgLength)));
}

const BEST = 10000;  // beyond this many, matches are stepped through in item order

export class PostingsSearch {
  /**
   * data: postingsOf's result (data/textindex.json with its columns resolved); best: how many of
   * a query's matches are put in rank order (rank()).
   */
  constructor({ count, terms, offsets, items, scores }, { best = BEST } = {}) {
    Object.assign(this, { count, terms, offsets, items, scores, best });
    this.score = new Float64Array(count);  // per query, reset after it
    this.words = new Uint8Array(count);     // query words matched
    this.exact = new Uint8Array(count);     // of them, matched as whole words
    this.seen = new Int32Array(count).fill(-1);  // the last query word that counted the item
    this.stamp = 0;
    // rank()'s working arrays, made once: a million-item query would otherwise make 25 MB of garbage
    this.work = { ids: new Int32Array(count), scores: new Float32Array(count), groups: new Uint32Array(count),
      hist: new Int32Array(65536) };
  }

  /**
   * Rank the first letter of the commonest term once (the most matches, every step of rank()
   * taken), so that the visitor's first keystrokes run compiled code: cold, they took twice as
   * long at a million items.
   */
  warmUp() {
    const { terms, offsets } = this;
    let most = 0;
    for (let t = 1; t < terms.length; t++) if (offsets[t + 1] - offsets[t] > offsets[most + 1] - offsets[most]) most = t;
    if (terms.length) this.search(terms[most][0]);
  }

  /** Item indices matching the query, best first, as TextSearch.search ranks them (an Int32Array). */
  search(query) {
    const words = queryTerms(query).slice(0, 255);  // the counts are bytes
    if (!words.length) return new Int32Array(0);
    const counted = new Set();
    for (const w of words) {
      const first = !counted.has(w);  // a repeated word adds to the score only, as in MiniSearch
      counted.add(w);
      const stamp = this.stamp++;
      for (let t = this.lowerBound(w); t < this.terms.length && this.terms[t].startsWith(w); t++) {
        const term = this.terms[t], whole = term.length === w.length;
        const weight = whole ? 1 : PREFIX_WEIGHT * term.length / (term.length + 0.3 * (term.length - w.length));
        this.add(t, weight, first ? stamp : -1, first && whole);
      }
    }
    return this.rank();
  }

  /** The first term not before w (terms are in JavaScript's string order). */
  lowerBound(w) {
    let lo = 0, hi = this.terms.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (this.terms[mid] < w) lo = mid + 1; else hi = mid; }
    return lo;
  }

  add(t, weight, stamp, whole) {
    const { items, scores, score, words, exact, seen } = this;
    for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) {
      const i = items[p];
      score[i] += weight * scores[p];
      if (stamp >= 0 && seen[i] !== stamp) { seen[i] = stamp; words[i]++; }
      if (whole) exact[i]++;
    }
  }

  /**
   * The matched items by words, whole words, score (all descending), then item order; resets.
   * Only the best `this.best` are put in that order (bestOf), the rest of the matches follow in
   * item order: at a million matches a whole order costs more than a keystroke.
   */
  rank() {
    const { score, words, exact, count } = this;
    const { ids: allIds, scores: allScores, groups: allGroups, hist } = this.work;
    hist.fill(0);  // the groups' histogram, for bestOf
    let m = 0;
    for (let i = 0; i < count; i++) {
      if (!words[i]) continue;
      const g = (words[i] << 8) | exact[i];
      allIds[m] = i; allScores[m] = score[i]; allGroups[m++] = g; hist[g]++;
      score[i] = 0; words[i] = 0; exact[i] = 0;
    }
    const ids = allIds.subarray(0, m), byScore = allScores.subarray(0, m), groups = allGroups.subarray(0, m);
    const bits = new Uint32Array(byScore.buffer, 0, m);  // scores are positive: their float32 bits order as integers do
    const top = m > this.best ? bestOf(groups, bits, this.best, hist) : null;
    const order = new Int32Array(top ? top.length : m);
    for (let k = 0; k < order.length; k++) order[k] = top ? top[k] : k;
    const byScoreKey = sortDesc(order, Uint32Array.from(order, (k) => bits[k]), 32);
    const best = sortDesc(byScoreKey, Uint32Array.from(byScoreKey, (k) => groups[k]), 16);
    const out = new Int32Array(m);
    for (let k = 0; k < best.length; k++) out[k] = ids[best[k]];
    if (top) {  // the others, in item order (top's positions are ascending)
      for (let k = 0, p = 0, j = best.length; k < m; k++) if (p < top.length && top[p] === k) p++; else out[j++] = ids[k];
    }
    return out;
  }
}

/**
 * Positions (ascending) of the `want` best keys (group, then score bits; of equal keys the first):
 * the threshold key comes from three histograms (groups, then the score's high and low 16 bits
 * within the threshold), so no key left out is above a key kept. hist: the groups' histogram
 * (rank() counts it as it collects the matches), then reused for the others.
 */
function bestOf(groups, bits, want, hist) {
  const m = groups.length;
  let above = 0;
  const cut = (h) => {  // the digit at which the count of keys above reaches want
    let d = 65535;
    while (above + h[d] < want) above += h[d--];
    return d;
  };
  const g = cut(hist);
  hist.fill(0);
  for (let k = 0; k < m; k++) if (groups[k] === g) hist[bits[k] >>> 16]++;
  const hi = cut(hist);
  hist.fill(0);
  for (let k = 0; k < m; k++) if (groups[k] === g && bits[k] >>> 16 === hi) hist[bits[k] & 65535]++;
  const t = ((hi << 16) | cut(hist)) >>> 0;
  let ties = want - above;  // of the keys equal to the threshold, this many (the first) are kept
  const out = new Int32Array(want);
  for (let k = 0, j = 0; k < m; k++) {
    const gk = groups[k];
    if (gk > g || (gk === g && (bits[k] > t || (bits[k] === t && ties-- > 0)))) out[j++] = k;
  }
  return out;
}

/**
 * Stable LSD radix sort of `order` by `keys` (in the same order) descending, on the keys' low
 * `bits` bits, 11 a pass (the counts stay in the fastest cache); the keys move with their values.
 */
function sortDesc(order, keys, bits) {
  const n = order.length;
  let a = order, k = keys, a2 = new Int32Array(n), k2 = new Uint32Array(n);
  for (let shift = 0; shift < bits; shift += 11) {
    const start = new Int32Array(2049);
    for (let i = 0; i < n; i++) start[2048 - ((k[i] >>> shift) & 2047)]++;
    if (start.some((c) => c === n)) continue;  // one digit for all: the pass keeps the order
    for (let d = 1; d < 2049; d++) start[d] += start[d - 1];
    for (let i = 0; i < n; i++) {
      const at = start[2047 - ((k[i] >>> shift) & 2047)]++;
      a2[at] = a[i]; k2[at] = k[i];
    }
    [a, a2] = [a2, a]; [k, k2] = [k2, k];
  }
  return a;
}
