// MiniSearch's serialized index of WORK/docs.json, for the loadJSON variant of the benchmark:
//   node bench/search_libs/make_minisearch.js WORK
import fs from 'node:fs';
import MiniSearch from 'minisearch';
import { useRules } from '../../templates/assets/js/rules.js';
import { TextSearch } from '../../templates/assets/js/textsearch.js';

useRules(JSON.parse(fs.readFileSync(new URL('../../templates/assets/rules.json', import.meta.url), 'utf8')));
const work = process.argv[2];
const t = performance.now();
const ts = new TextSearch(MiniSearch, JSON.parse(fs.readFileSync(`${work}/docs.json`, 'utf8')));
console.log(`MiniSearch index in node: ${(performance.now() - t).toFixed(0)} ms`);
fs.writeFileSync(`${work}/minisearch.json`, JSON.stringify(ts.mini));
