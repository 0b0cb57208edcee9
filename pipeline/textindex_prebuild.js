// Prebuilds MiniSearch's index for the page, with the page's own module (assets/js/textsearch.js):
//   node pipeline/textindex_prebuild.js DOCS.json OUT.json
// DOCS: pipeline/textindex.py's documents; OUT: the same file with the documents replaced by the
// index ({schema, fields, index}), which the page loads 8 times faster than it indexes the documents.
import fs from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import MiniSearch from 'minisearch';
import { useRules } from '../templates/assets/js/rules.js';
import { TextSearch } from '../templates/assets/js/textsearch.js';

const [docsFile, outFile] = process.argv.slice(2);
useRules(JSON.parse(fs.readFileSync(new URL('../templates/assets/rules.json', import.meta.url), 'utf8')));
const data = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
const ts = new TextSearch(MiniSearch, data);
fs.writeFileSync(outFile, JSON.stringify({ schema: data.schema, fields: data.fields, index: ts.mini }));
