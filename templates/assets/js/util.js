// Small DOM and text helpers. Metadata is untrusted: text goes in with textContent only,
// and links are made only for http(s) or relative URLs.

/** Create an element. opts: {class, text, attrs: {name: value}}; children are appended. */
export function el(tag, opts = {}, ...children) {
  const node = document.createElement(tag);
  if (opts.class) node.className = opts.class;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) {
      if (v === false || v === null || v === undefined) continue;
      if (/^on/i.test(k) || k.toLowerCase() === 'style') throw new Error(`refusing attribute ${k}`);
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/** Remove all children. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/**
 * The URL if it is safe to put in an href: http(s), or relative (no scheme at all).
 * Returns null for javascript:, data:, vbscript:, file: and every other scheme.
 */
export function safeUrl(raw) {
  if (typeof raw !== 'string') return null;
  // Browsers ignore leading/trailing C0 controls and spaces and strip tabs/newlines anywhere.
  const s = raw.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  if (!s) return null;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  if (scheme) {
    const name = scheme[1].toLowerCase();
    return name === 'http' || name === 'https' ? s : null;
  }
  if (/^[\\/]{2}/.test(s)) return null;            // protocol-relative: leaves the site's origin rules
  if (/[\u0000-\u001f]/.test(s)) return null;
  return s;
}

/** A link when the URL is safe, else a span showing the URL as text. */
export function linkOrText(url, text, opts = {}) {
  const safe = safeUrl(url);
  if (!safe) return el('span', { class: opts.textClass || 'unsafe-url', text: text || url || '' });
  const a = el('a', { class: opts.class, text: text || safe, attrs: { href: safe } });
  if (/^https?:/i.test(safe)) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return a;
}

/** Lower-case, accents removed (NFKD, combining marks dropped): same as data/search.json. */
export function normalize(s) {
  return String(s).normalize('NFKD').replace(/[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g, '').toLowerCase();
}

const nf = new Intl.NumberFormat('en');
export const fmt = (n) => nf.format(n);

export function debounce(fn, ms) {
  let t = 0;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

export const isPhone = () => window.matchMedia('(max-width: 720px)').matches;
export const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;
