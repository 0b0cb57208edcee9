// The page's rules against the same case tables pytest checks the build's rules with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RULES, readJSON } from './helpers.js';
import { fold, safeUrl, facetRange } from '../../templates/assets/js/rules.js';

test('folding gives what the shared table says (as site.fold does)', () => {
  const { cases } = readJSON('tests/fixtures/folding.json');
  assert.ok(cases.length >= 20);
  for (const c of cases) assert.equal(fold(c.in), c.out, `${c.why}: ${c.in}`);
});

test('every spelling of Straße folds alike', () => {
  const want = fold('Die Straße');
  for (const q of ['die strasse', 'DIE STRASSE', 'Die Strasse', 'die straße', 'DIE STRAẞE']) assert.equal(fold(q), want, q);
  assert.ok(fold('Die Straße').includes(fold('STRASSE')));
});

test('link safety gives what the shared table says (as metadata.safe_url does)', () => {
  const { cases } = readJSON('tests/fixtures/safe_url.json');
  assert.ok(cases.length >= 20);
  for (const c of cases) assert.equal(safeUrl(c.in), c.out, `${c.why}: ${JSON.stringify(c.in)}`);
  for (const v of [null, undefined, 42, {}, ['https://x.org/']]) assert.equal(safeUrl(v), null);
});

test('the facet range is the one in rules.json', () => {
  assert.deepEqual(facetRange(), [RULES.facet.min_values, RULES.facet.max_values]);
});
