// The view state and its URL-hash form, so a link reproduces what the visitor sees.
// layout: grid (default) | tsne | groups
// #item=12&q=boat&f.category=animals&f.category=food&y.date=1900-1910&layout=tsne&v=0.5,0.4,3.2

export function emptyState() {
  return { item: null, q: '', facets: {}, years: {}, layout: 'grid', view: null };
}

export function parseHash(hash) {
  const s = emptyState();
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const item = p.get('item');
  if (item !== null && /^\d+$/.test(item)) s.item = Number(item);
  s.q = p.get('q') || '';
  const layout = p.get('layout');
  if (layout === 'tsne' || layout === 'grid' || layout === 'groups') s.layout = layout;
  for (const [k, v] of p) {
    if (k.startsWith('f.') && k.length > 2) {
      (s.facets[k.slice(2)] ||= []).push(v);
    } else if (k.startsWith('y.') && k.length > 2) {
      const m = /^(-?\d+)-(-?\d+)$/.exec(v);
      if (m) s.years[k.slice(2)] = [Number(m[1]), Number(m[2])];
    }
  }
  const v = (p.get('v') || '').split(',').map(Number);
  if (v.length === 3 && v.every(Number.isFinite) && v[2] > 0) s.view = { x: v[0], y: v[1], z: v[2] };
  return s;
}

export function toHash(s) {
  const p = new URLSearchParams();
  if (s.item !== null && s.item !== undefined) p.set('item', String(s.item));
  if (s.q) p.set('q', s.q);
  for (const [k, vals] of Object.entries(s.facets || {})) for (const v of vals) p.append(`f.${k}`, v);
  for (const [k, r] of Object.entries(s.years || {})) if (r) p.set(`y.${k}`, `${r[0]}-${r[1]}`);
  if (s.layout && s.layout !== 'grid') p.set('layout', s.layout);
  if (s.view) p.set('v', [s.view.x.toFixed(5), s.view.y.toFixed(5), s.view.z.toPrecision(4)].join(','));
  const str = p.toString();
  return str ? `#${str}` : '';
}

/**
 * Writes the state into the URL. push: a new history entry (opening an item, choosing a
 * filter); otherwise the current entry is replaced (typing, panning).
 */
export function writeHash(s, push) {
  const h = toHash(s);
  const cur = location.hash === '#' ? '' : location.hash;
  if (h === cur) return;
  const url = `${location.pathname}${location.search}${h || ''}`;
  if (push) history.pushState(null, '', url || location.pathname);
  else history.replaceState(null, '', url || location.pathname);
}
