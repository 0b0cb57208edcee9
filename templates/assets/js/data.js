// Fetching the site's data files (docs/site-format.md). All URLs are relative to the page.
import { loadColumn, resolveColumns } from './columns.js';

async function getJSON(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/**
 * The collection: data/collection.json and the grid's cell order, all the first paint needs.
 * Every other per-item array (titles, map positions, facets, years, layouts) is fetched at once
 * beside it; coll.complete resolves when they are in coll (until then coll.title is empty).
 */
export async function loadCollection() {
  const c = await getJSON('data/collection.json');
  const cellRef = c.items.cell;
  delete c.items.cell;
  const rest = resolveColumns(c);  // in flight while the mosaic opens
  const cell = await loadColumn(cellRef);
  c.items.cell = cell;
  const n = c.count;
  const { cols, rows } = c.grid;
  const cellToItem = new Int32Array(cols * rows).fill(-1);
  for (let i = 0; i < n; i++) if (cell[i] >= 0 && cell[i] < cellToItem.length) cellToItem[cell[i]] = i;
  const coll = {
    raw: c,
    n,
    title: [],
    cell,
    cellToItem,
    xy: null,
    cols,
    rows,
    cellSize: c.grid.cell,
    cellFit: c.grid.fit === 'fill' ? 'fill' : 'contain',  // how a cell shows its image (--resize)
    fields: c.fields || [],
    facets: new Map(),
    years: new Map(),
    chunkSize: c.chunk_size || 1000,
    dzi: c.dzi || 'tiles/mosaic.dzi',
    searchUrl: c.search || 'data/search.json',
    layouts: new Map(),
    projection: c.projection || 'tsne',
    yearRanges: new Map(),
  };
  coll.complete = rest.then(() => Object.assign(coll, {
    title: c.items.title,
    xy: c.items.xy,
    // Maps: keys are CSV column names, so `constructor` or `__proto__` must be plain keys
    facets: new Map(Object.entries(c.facets || {})),
    years: new Map(Object.entries(c.years || {})),
    // timeline, places and --layout layouts by name (layouts.js); spans of vague dates
    layouts: new Map(Object.entries(c.layouts || {})),
    yearRanges: new Map(Object.entries(c.year_ranges || {})),
  }));
  return coll;
}

let searchPromise = null;
/** data/search.json: one normalised string per item; fetched once, after first paint. */
export function loadSearch(coll) {
  if (!searchPromise) {
    searchPromise = getJSON(coll.searchUrl).catch((err) => {
      console.warn('search index unavailable, searching titles only', err);
      searchPromise = null;
      return null;
    });
  }
  return searchPromise;
}

const chunks = new Map();
/** Item details (id, url, thumb, values, similar) for item i, from its chunk. */
export async function getItem(coll, i) {
  const k = Math.floor(i / coll.chunkSize);
  let p = chunks.get(k);
  if (!p) {
    p = getJSON(`data/items/${k}.json`);
    chunks.set(k, p);
    p.catch(() => chunks.delete(k));
  }
  const chunk = await p;
  return chunk.items[i - chunk.start] || null;
}
