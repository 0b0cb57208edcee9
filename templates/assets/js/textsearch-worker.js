// The ranked text search on a worker (textsearch.js WorkerSearch): loading a large collection's
// index and ranking a query over a million items never stall the page. Messages: {id, type:
// 'open', index, lib, rules, base} -> the item count; {id, type: 'search', q} -> an Int32Array of item
// indices, best first (moved, not copied).
import { loadRules } from './rules.js';
import { resolveColumns } from './columns.js';
import { PostingsSearch } from './postings.js';
import { TextSearch } from './textsearch.js';

let opened = null;

/**
 * The search of data/textindex.json: its postings (the build's, with their columns), or, where
 * the build could not prebuild them, MiniSearch indexing the documents here.
 */
async function openTextSearch(indexUrl, libUrl, base) {
  const res = await fetch(indexUrl, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${indexUrl}: HTTP ${res.status}`);
  const data = await res.json();
  if (data.terms) {
    const ps = new PostingsSearch(await resolveColumns(data, base));
    ps.warmUp();
    return ps;
  }
  return new TextSearch((await import(libUrl)).default, data);
}

self.addEventListener('message', async ({ data }) => {
  const { id } = data;
  try {
    if (data.type === 'open') {
      opened = Promise.all([loadRules(data.rules), openTextSearch(data.index, data.lib, data.base)]).then(([, ts]) => ts);
      self.postMessage({ id, ok: true, value: (await opened).count });
    } else {
      const found = (await opened).search(String(data.q));
      const list = found instanceof Int32Array ? found : Int32Array.from(found);
      self.postMessage({ id, ok: true, value: list }, [list.buffer]);
    }
  } catch (err) {
    self.postMessage({ id, ok: false, value: String((err && err.message) || err) });
  }
});
