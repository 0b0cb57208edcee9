// Runs the page's text search in node, for pytest (tests/test_textindex.py):
//   node tests/js/textsearch_run.js SITE/data/textindex.json QUERY...
// prints {"QUERY": [item indices, best first], ...}: the postings' search (their columns read from
// SITE/data/columns/) or, for the documents, MiniSearch's.
import fs from 'node:fs';
import path from 'node:path';
import MiniSearch from 'minisearch';
import './helpers.js'; // loads the shared rules (useRules)
import { TextSearch } from '../../templates/assets/js/textsearch.js';
import { PostingsSearch } from '../../templates/assets/js/postings.js';
import { TYPED } from '../../templates/assets/js/columns.js';

const [file, ...queries] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(file, 'utf8'));
const site = path.dirname(path.dirname(file));
const column = (ref) => {
  const buf = fs.readFileSync(path.join(site, ref.column));
  return new TYPED[ref.type](buf.buffer, buf.byteOffset, buf.length / TYPED[ref.type].BYTES_PER_ELEMENT);
};
const ts = data.terms
  ? new PostingsSearch({ ...data, offsets: column(data.offsets), items: column(data.items), scores: column(data.scores) })
  : new TextSearch(MiniSearch, data);
process.stdout.write(JSON.stringify(Object.fromEntries(queries.map((q) => [q, Array.from(ts.search(q))]))));
