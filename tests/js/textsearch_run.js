// Runs the page's text search in node, for pytest (tests/test_textindex.py):
//   node tests/js/textsearch_run.js INDEX.json QUERY...   prints {"QUERY": [item indices, best first], ...}
import fs from 'node:fs';
import MiniSearch from 'minisearch';
import './helpers.js'; // loads the shared rules (useRules)
import { TextSearch } from '../../templates/assets/js/textsearch.js';

const [file, ...queries] = process.argv.slice(2);
const ts = new TextSearch(MiniSearch, JSON.parse(fs.readFileSync(file, 'utf8')));
process.stdout.write(JSON.stringify(Object.fromEntries(queries.map((q) => [q, ts.search(q)]))));
