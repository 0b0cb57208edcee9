// The text search's rules, and its ranking with MiniSearch (npm `minisearch`, copied to
// assets/minisearch/ by the build): the build indexes data/textindex.json's documents with it and
// writes the index as postings (postings.js ranks them the same way); a page whose build had no
// node indexes the documents here. The build folds the text with the
// shared rule (rules.json); queries are folded here with the same rule (rules.js), and both go
// through the one tokenizer and plural folding below, so any spelling of accents and case finds
// the same items. Ranking, strictly in this order: more query words matched; more of them matched
// as whole words (not only as the start of a longer word); then MiniSearch's BM25 score, where a
// title match weighs TITLE_BOOST times a match in the other fields.
import { fold } from './rules.js';

export const TITLE_BOOST = 4;
export const PREFIX_WEIGHT = 0.25;  // a word-prefix match counts this much of a whole-word match
export const BM25 = { k: 1.2, b: 0.7, d: 0.5 };  // MiniSearch's defaults, named for postings.js
const APOSTROPHES = /['\u2019\u02bc]/gu;  // "cat's" is one word, "cats"
const NON_WORD = /[^\p{L}\p{N}]+/u;
const SIBILANT_ES = /(?:x|z|ch|sh|ss)es$/;

/**
 * Simple English plural folding, the same for the text and the query: cats -> cat,
 * puppies -> puppy, boxes -> box, houses -> house; glass, bus, yes stay as they are.
 * Only the end of a word changes, so "cat" never finds "education" or "indicator".
 */
export function stem(word) {
  if (word.length <= 3 || !word.endsWith('s')) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (SIBILANT_ES.test(word)) return word.slice(0, -2);
  if (/(?:ss|us|is)$/.test(word)) return word;
  return word.slice(0, -1);
}

/** Words of already-folded text: apostrophes dropped, split at anything not a letter or digit. */
export function tokenize(folded) {
  return String(folded).replace(APOSTROPHES, '').split(NON_WORD).filter(Boolean);
}

/** The search terms of a visitor's query, as they are matched against the index. */
export function queryTerms(query) {
  return tokenize(fold(query)).map(stem);
}

export class TextSearch {
  /**
   * MiniSearch: the library's class (the page imports assets/minisearch/index.js; tests and the
   * build's prebuild import node_modules/minisearch). data: documents, {fields, docs: [[text per
   * field]]} (data/textindex.json where node was missing at build time), doc i being item i.
   * The build lays this index out as postings (postings.js), which the page ranks with instead.
   */
  constructor(MiniSearch, data) {
    const fields = data.fields;
    const at = new Map(fields.map((f, k) => [f, k]));
    const id = fields.length;
    this.mini = new MiniSearch({
      idField: '#', fields,
      extractField: (doc, f) => (f === '#' ? doc[id] : doc[at.get(f)]),
      tokenize, processTerm: stem,
    });
    this.mini.addAll(data.docs.map((d, i) => [...d.slice(0, id), i]));
    this.count = this.mini.documentCount;
    this.boosts = Object.fromEntries(fields.map((f, k) => [f, k ? 1 : TITLE_BOOST]));
    this.options = {
      prefix: true, fuzzy: false, combineWith: 'OR',
      boost: this.boosts, weights: { prefix: PREFIX_WEIGHT, fuzzy: 0 }, bm25: BM25,
    };
  }

  /** Item indices matching the query, best first (see the ranking above); [] for an empty query. */
  search(query) {
    const q = tokenize(fold(query)).join(' ');
    if (!q) return [];
    const hits = this.mini.search(q, this.options).map((r) => ({
      id: r.id, score: r.score, words: r.queryTerms.length,
      exact: r.queryTerms.filter((t) => Object.hasOwn(r.match, t)).length,
    }));
    hits.sort((a, b) => b.words - a.words || b.exact - a.exact || b.score - a.score || a.id - b.id);
    return hits.map((h) => h.id);
  }
}

/**
 * The page's handle on the text search running on a worker (textsearch-worker.js): search(q)
 * resolves to the item indices, best first, as TextSearch.search returns them.
 */
export class WorkerSearch {
  constructor(worker) {
    this.async = true;
    this.worker = worker;
    this.calls = new Map();  // id -> {resolve, reject}
    this.next = 0;
    worker.addEventListener('message', ({ data }) => {
      const call = this.calls.get(data.id);
      this.calls.delete(data.id);
      if (call) (data.ok ? call.resolve : call.reject)(data.ok ? data.value : new Error(data.value));
    });
    worker.addEventListener('error', (e) => {
      for (const call of this.calls.values()) call.reject(new Error(e.message || 'the search worker failed'));
      this.calls.clear();
    });
  }

  call(msg) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  search(q) { return this.call({ type: 'search', q }); }
}

/** Start the worker and have it fetch the library, the shared rules and the index. */
export async function openWorkerSearch(indexUrl, rulesUrl = 'assets/rules.json') {
  const ws = new WorkerSearch(new Worker(new URL('./textsearch-worker.js', import.meta.url), { type: 'module' }));
  const abs = (u) => new URL(u, document.baseURI).href;  // the worker resolves against its own URL
  ws.count = await ws.call({ type: 'open', index: abs(indexUrl), rules: abs(rulesUrl), base: document.baseURI,
    lib: new URL('../minisearch/index.js', import.meta.url).href });
  return ws;
}
