// Prebuilds the page's text search index, with the page's own modules:
//   node pipeline/textindex_prebuild.js DOCS.json OUT_FOLDER
// DOCS: pipeline/textindex.py's documents. MiniSearch indexes them (assets/js/textsearch.js) and
// the index is written as postings (assets/js/postings.js): OUT_FOLDER/textindex.json holds the
// terms and references to three columns, written beside it as textindex-{offsets,items,scores}.bin
// (the site keeps them in data/columns/).
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';
import MiniSearch from 'minisearch';
import { useRules } from '../templates/assets/js/rules.js';
import { TextSearch } from '../templates/assets/js/textsearch.js';
import { postingsOf } from '../templates/assets/js/postings.js';
import { FOLDER, TYPED } from '../templates/assets/js/columns.js';

const [docsFile, outFolder] = process.argv.slice(2);
useRules(JSON.parse(fs.readFileSync(new URL('../templates/assets/rules.json', import.meta.url), 'utf8')));
const data = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
const ts = new TextSearch(MiniSearch, data);
const { count, terms, ...columns } = postingsOf(ts.mini.toJSON(), ts.boosts);
const out = { schema: 2, fields: data.fields, count, terms };
for (const [name, arr] of Object.entries(columns)) {
  fs.writeFileSync(path.join(outFolder, `textindex-${name}.bin`), arr);
  const type = Object.keys(TYPED).find((t) => arr instanceof TYPED[t]);
  out[name] = { column: `${FOLDER}/textindex-${name}.bin`, type, length: arr.length };
}
fs.writeFileSync(path.join(outFolder, 'textindex.json'), JSON.stringify(out));
