// Small DOM and text helpers. Metadata is untrusted: text goes in with textContent only,
// and links are made only for http(s) or relative URLs (rules.js: safeUrl).
import { safeUrl } from './rules.js';

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
