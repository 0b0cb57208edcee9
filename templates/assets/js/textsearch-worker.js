// The ranked text search on a worker (textsearch.js WorkerSearch): parsing a large collection's
// index and ranking a short prefix over a million items take seconds, which here never stall
// the page. Messages: {id, type: 'open', index, lib, rules} -> the item count; {id, type:
// 'search', q} -> an Int32Array of item indices, best first (moved, not copied).
import { loadRules } from './rules.js';
import { openTextSearch } from './textsearch.js';

let opened = null;

self.addEventListener('message', async ({ data }) => {
  const { id } = data;
  try {
    if (data.type === 'open') {
      opened = Promise.all([loadRules(data.rules), openTextSearch(data.index, data.lib)]).then(([, ts]) => ts);
      self.postMessage({ id, ok: true, value: (await opened).count });
    } else {
      const list = Int32Array.from((await opened).search(String(data.q)));
      self.postMessage({ id, ok: true, value: list }, [list.buffer]);
    }
  } catch (err) {
    self.postMessage({ id, ok: false, value: String((err && err.message) || err) });
  }
});
