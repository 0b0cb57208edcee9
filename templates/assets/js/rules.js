// The rules the page shares with the build, read from assets/rules.json (pipeline/rules.py reads
// the same file): search folding, link safety and the facet range. Both sides are tested against
// the same cases (tests/fixtures/). useRules() runs once, before anything folds or links.

let rules = null;
let foldMap, foldRe, trimRe, forbiddenRe, schemes, prefixes;

const MARKS = /\p{M}/gu;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const hex = (c) => `\\u{${c.toString(16)}}`;
const charClass = (ranges, chars = '') =>
  ranges.map(([lo, hi]) => `${hex(lo)}-${hex(hi)}`).join('') + [...chars].map((c) => hex(c.codePointAt(0))).join('');

/** Take the rules (the parsed rules.json). */
export function useRules(r) {
  rules = r;
  foldMap = new Map(Object.entries(r.fold.map));
  foldRe = new RegExp(`[${[...foldMap.keys()].map((c) => hex(c.codePointAt(0))).join('')}]`, 'gu');
  const trim = charClass(r.url.trim);
  trimRe = new RegExp(`^[${trim}]+|[${trim}]+$`, 'gu');
  forbiddenRe = new RegExp(`[${charClass(r.url.forbidden, r.url.forbidden_chars)}]`, 'u');
  schemes = new Set(r.url.schemes);
  prefixes = r.url.forbidden_prefixes;
}

/** Fetch and take assets/rules.json. */
export async function loadRules(url = 'assets/rules.json') {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  useRules(await res.json());
}

function need() {
  if (!rules) throw new Error('rules.js: useRules() has not run');
}

/** Search folding, as site.fold folds data/search.json: NFKD, lower-case, special letters mapped, marks removed. */
export function fold(s) {
  need();
  return String(s).normalize('NFKD').toLowerCase().replace(foldRe, (c) => foldMap.get(c)).replace(MARKS, '');
}

/**
 * The URL if it is safe to put in an href: http(s), or relative (no scheme at all); else null
 * (javascript:, data:, protocol-relative, controls, quotes: as metadata.safe_url decides).
 */
export function safeUrl(raw) {
  need();
  if (typeof raw !== 'string') return null;
  const s = raw.replace(trimRe, '').replaceAll(' ', '%20');
  if (!s || forbiddenRe.test(s) || prefixes.some((p) => s.startsWith(p))) return null;
  const m = SCHEME.exec(s);
  return !m || schemes.has(m[1].toLowerCase()) ? s : null;
}

/** [min, max] distinct values of a facet the groups layout can gather by. */
export function facetRange() {
  need();
  return [rules.facet.min_values, rules.facet.max_values];
}
