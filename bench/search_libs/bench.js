// Runs in Chromium (bench/search_libs/run.py): load one library's index, then time queries.
// Served from a folder where lib/ holds the libraries and the page's own modules, data/ the indexes.
import { loadRules } from './lib/rules.js';
import { TextSearch } from './lib/textsearch.js';
import MiniSearch from './lib/minisearch.js';
import { PostingsSearch } from './lib/postings.js';
import { resolveColumns } from './lib/columns.js';

const now = () => performance.now();
const getText = async (url) => (await fetch(url)).text();

/** Lunr: the same ranking idea as textsearch.js (whole word x10 above word prefix), via the query API. */
function lunrSearch(idx, query) {
  const words = window.lunr.tokenizer(query).map(String).filter(Boolean);
  if (!words.length) return [];
  return idx.query((q) => {
    for (const w of words) {
      q.term(w, { boost: 10 });
      q.term(w, { wildcard: window.lunr.Query.wildcard.TRAILING, usePipeline: false });
    }
  }).map((r) => Number(r.ref));
}

const loaders = {
  // the documents (pipeline/textindex.py), indexed in the page
  async minisearch() {
    const text = await getText('data/docs.json');
    const ts = new TextSearch(MiniSearch, JSON.parse(text));
    return (q) => ts.search(q);
  },
  // MiniSearch's own serialized index (made in node by make_minisearch.js), loaded with loadJSON
  async 'minisearch-json'() {
    const text = await getText('data/minisearch.json');
    const docs = { fields: ['title', 'text'], docs: [] };
    const ts = new TextSearch(MiniSearch, docs);
    ts.mini = MiniSearch.loadJSON(text, ts.mini._options);
    return (q) => ts.search(q);
  },
  // the build's postings (pipeline/textindex_prebuild.js), as the page's worker loads them
  async postings() {
    const data = JSON.parse(await getText('data/textindex.json'));
    const ps = new PostingsSearch(await resolveColumns(data));
    return (q) => ps.search(q);
  },
  // Lunr's index, prebuilt in Python
  async lunr() {
    const text = await getText('data/lunr.json');
    const idx = window.lunr.Index.load(JSON.parse(text));
    return (q) => lunrSearch(idx, q);
  },
};

window.runBench = async (lib, typed) => {
  await loadRules('lib/rules.json');
  const heap0 = performance.memory ? performance.memory.usedJSHeapSize : 0;
  let t = now();
  const search = await loaders[lib]();
  const load = now() - t;
  t = now();
  const first = search('cat');
  const firstQuery = now() - t;
  const keys = [];
  const top = {};
  for (const phrase of typed) {
    for (let k = 1; k <= phrase.length; k++) {
      t = now();
      const hits = search(phrase.slice(0, k));
      keys.push(now() - t);
      if (k === phrase.length) top[phrase] = Array.from(hits.slice(0, 5));
    }
  }
  const heap = performance.memory ? performance.memory.usedJSHeapSize - heap0 : 0;
  return { load, firstQuery, firstHits: first.length, firstTop: Array.from(first.slice(0, 10)), keys, top, heap };
};
window.benchReady = true;
