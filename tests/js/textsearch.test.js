// The page's ranked text search (templates/assets/js/textsearch.js) on small hand-made indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import MiniSearch from 'minisearch';
import { fold } from '../../templates/assets/js/rules.js';
import './helpers.js';
import { TextSearch, stem, tokenize, queryTerms } from '../../templates/assets/js/textsearch.js';
import { PostingsSearch, postingsOf } from '../../templates/assets/js/postings.js';

test('plural folding: the end of a word only', () => {
  const cases = { cats: 'cat', cat: 'cat', puppies: 'puppy', boxes: 'box', dishes: 'dish', glasses: 'glass',
    houses: 'house', horses: 'horse', glass: 'glass', bus: 'bus', yes: 'yes', gas: 'gas', pies: 'pie',
    education: 'education', series: 'sery', iris: 'iris' };
  for (const [w, want] of Object.entries(cases)) assert.equal(stem(w), want, w);
});

test('words: apostrophes kept inside, any other non-letter splits', () => {
  assert.deepEqual(tokenize("cat's face,heart-eyes  2021/04"), ['cats', 'face', 'heart', 'eyes', '2021', '04']);
  assert.deepEqual(queryTerms('Die STRAẞE, Łódź’s cats'), ['die', 'strasse', 'lodz', 'cat']);
  assert.deepEqual(tokenize(''), []);
});

// a tiny collection in data/textindex.json's shape, folded as the build folds it
const titles = ['Education board', 'Cat face', 'Black cat', 'Catalonia flag', 'Telephone', 'Cats and dogs',
  'Café au lait', 'Dog face'];
const text = ['communication indicator', 'animal', 'animal cat', 'catalan', 'cat', 'pets', 'coffee', 'animal'];
const data = { fields: ['title', 'text'], docs: titles.map((t, i) => [fold(t), fold(text[i])]) };

test('"cat": titles first, then other fields, then word prefixes; never inside a word', () => {
  const ts = new TextSearch(MiniSearch, data);
  const got = ts.search('cat');
  assert.deepEqual(new Set(got.slice(0, 3)), new Set([1, 2, 5]));  // cat in the title (Cats folds to cat)
  assert.equal(got[3], 4);         // Telephone: cat in its text
  assert.equal(got[4], 3);         // Catalonia: only a word prefix
  assert.equal(got.length, 5);     // Education (communication, indicator) is not found
});

test('every spelling of accents and case finds the same; plurals find singulars', () => {
  const ts = new TextSearch(MiniSearch, data);
  assert.deepEqual(ts.search('CATS'), ts.search('cat'));
  assert.deepEqual(ts.search('cafe'), [6]);
  assert.deepEqual(ts.search('CAFÉ'), [6]);
  assert.deepEqual(ts.search('   '), []);
  assert.deepEqual(ts.search('zebra'), []);
});

test('all query words rank above some', () => {
  const ts = new TextSearch(MiniSearch, data);
  const got = ts.search('dog face');
  assert.equal(got[0], 7);               // Dog face: both words
  assert.ok(got.indexOf(1) > 0 && got.indexOf(5) > 0);  // Cat face, Cats and dogs: one word each
});

// Made-up documents with the word statistics that matter: common and rare words, words that are
// prefixes of others, repeats within a field, accents, empty fields.
function corpus(n, seed = 7) {
  const vocab = ['cat', 'cats', 'catalonia', 'catch', 'car', 'card', 'face', 'faces', 'facet', 'flag', 'france',
    'red', 'reed', 'heart', 'variant', 'c', 'ca', 'x', 'xylophone', 'café', 'cafe', 'dog', 'dogs', '1', '12', '120'];
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const words = (k) => Array.from({ length: k }, () => vocab[Math.floor(rnd() ** 2 * vocab.length)]).join(' ');
  return { fields: ['title', 'text'], docs: Array.from({ length: n }, () =>
    [fold(words(Math.floor(rnd() * 5))), fold(words(Math.floor(rnd() * 12)))]) };
}

test('the postings rank exactly as MiniSearch does, ties in item order', () => {
  const docs = corpus(3000);
  const mini = new TextSearch(MiniSearch, docs);
  const ps = new PostingsSearch(postingsOf(mini.mini.toJSON(), mini.boosts));
  const queries = ['c', 'ca', 'cat', 'cats', 'cat f', 'cat face', 'face cat', 'cat cat', 'variant', 'x', '1', '12',
    'Café', 'reed heart flag', 'zebra', 'cat zebra', '', '  ', 'car card c'];
  for (const q of queries) assert.deepEqual(Array.from(ps.search(q)), mini.search(q), q);
  assert.ok(ps.search('c').length > 2000, 'a one-letter prefix matches most items');
  assert.deepEqual(Array.from(ps.search('cat')), Array.from(ps.search('cat')), 'a query leaves nothing behind');
});

test('past the best few, the matches follow in item order', () => {
  const docs = corpus(3000);
  const mini = new TextSearch(MiniSearch, docs);
  const ps = new PostingsSearch(postingsOf(mini.mini.toJSON(), mini.boosts), { best: 50 });
  for (const q of ['c', 'cat f', 'variant', 'x']) {
    const want = mini.search(q), got = Array.from(ps.search(q));
    assert.ok(want.length > 100, q);
    assert.deepEqual(got.slice(0, 50), want.slice(0, 50), q);
    assert.deepEqual(got.slice(50), want.slice(50).sort((a, b) => a - b), q);
  }
});

test('the postings of the small collection: whole words, then prefixes, never inside a word', () => {
  const mini = new TextSearch(MiniSearch, data);
  const ps = new PostingsSearch(postingsOf(mini.mini.toJSON(), mini.boosts));
  assert.deepEqual(Array.from(ps.search('cat')), mini.search('cat'));
  assert.deepEqual(Array.from(ps.search('CAFÉ')), [6]);
  assert.equal(ps.terms.join(' '), [...ps.terms].sort().join(' '));
});
