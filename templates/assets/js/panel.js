// The record panel: preview, title, every field with its label, record link, the full-resolution
// view and the IIIF Manifest link, similar images.
import { el, clear, linkOrText, fmt } from './util.js';
import { serviceUrl, manifestLink } from './fullres.js';
import { safeUrl } from './rules.js';
import { getItem } from './data.js';
import { yearSpan } from './timeline.js';

export class Panel {
  constructor(coll, handlers) {
    this.coll = coll;
    this.h = handlers; // {onOpen(i), onClose(), onFacet(key, value), onFull(i)}
    this.root = document.getElementById('panel');
    this.titleEl = document.getElementById('panel-title');
    this.figure = document.getElementById('panel-figure');
    this.linkEl = document.getElementById('panel-link');
    this.iiifEl = document.getElementById('panel-iiif');
    this.fieldsEl = document.getElementById('panel-fields');
    this.strip = document.getElementById('similar-strip');
    this.idEl = document.getElementById('panel-id');
    this.item = -1;
    this.tiles = null;
    document.getElementById('panel-close').addEventListener('click', () => this.h.onClose());
    document.getElementById('panel-prev').addEventListener('click', () => this.step(-1));
    document.getElementById('panel-next').addEventListener('click', () => this.step(1));
  }

  get open() { return !this.root.hidden; }

  /** Previous/next item in the grid's reading order. */
  neighbourInGrid(i, d) {
    const { cell, cellToItem } = this.coll;
    for (let c = cell[i] + d; c >= 0 && c < cellToItem.length; c += d) if (cellToItem[c] >= 0) return cellToItem[c];
    return -1;
  }

  step(d) {
    if (this.item < 0) return;
    const j = this.neighbourInGrid(this.item, d);
    if (j >= 0) this.h.onOpen(j, { replace: true });
  }

  async show(i) {
    const coll = this.coll;
    this.item = i;
    this.root.hidden = false;
    document.body.classList.add('panel-open');
    const title = coll.title[i] || 'Untitled';
    this.titleEl.textContent = title;
    this.root.dataset.item = String(i);
    document.getElementById('panel-body').scrollTop = 0;  // each record starts at its top (its picture)
    clear(this.figure); clear(this.linkEl); clear(this.iiifEl); clear(this.fieldsEl); clear(this.strip);
    this.idEl.textContent = '';
    // a placeholder from the mosaic right away; the larger preview replaces it when it arrives
    if (this.tiles) this.figure.append(this.tiles.cellCanvas(i, 280, title));
    this.root.classList.add('is-pending');
    let item;
    try {
      item = await getItem(coll, i);
    } catch (err) {
      console.warn('item details unavailable', err);
    }
    if (this.item !== i) return; // another item was opened meanwhile
    this.root.classList.remove('is-pending');
    if (!item) {
      this.fieldsEl.append(el('div', { class: 'field' }, el('dd', { text: 'Details could not be loaded.' })));
      return;
    }
    // preview
    const thumb = safeUrl(item.thumb);
    if (thumb && !/^https?:/i.test(thumb)) {
      const img = el('img', { class: 'panel-img', attrs: { src: thumb, alt: title, decoding: 'async' } });
      img.addEventListener('load', () => {
        if (this.item !== i) return;
        clear(this.figure);
        this.figure.append(img);
      }, { once: true });
      img.addEventListener('error', () => img.remove(), { once: true });
    }
    // record link
    if (item.url) {
      const a = linkOrText(item.url, 'View the record at its source', { class: 'record-link' });
      if (a.tagName === 'A') a.append(el('span', { class: 'ext', text: ' ↗', attrs: { 'aria-hidden': 'true' } }));
      else a.textContent = `Record: ${item.url}`;
      this.linkEl.append(a);
    }
    this.showIiif(item);
    // fields
    coll.fields.forEach((f, k) => {
      const v = item.values ? item.values[k] : '';
      const dd = el('dd');
      if (v === null || v === undefined || v === '') {
        dd.textContent = '—';
        dd.className = 'empty';
      } else if (f.kind === 'category' && coll.facets.has(f.key)) {
        const b = el('button', { class: 'chip', text: v, attrs: { type: 'button', title: `Show all items with ${f.label}: ${v}` } });
        b.addEventListener('click', () => this.h.onFacet(f.key, v));
        dd.append(b);
      } else {
        dd.textContent = v;
        const span = f.kind === 'year' ? yearSpan(coll, f.key, i) : '';  // the years the date was read as
        if (span) dd.append(el('span', { class: 'year-span', text: ` (${span})` }));
      }
      this.fieldsEl.append(el('div', { class: 'field' }, el('dt', { text: f.label || f.key }), dd));
    });
    if (item.id) this.idEl.textContent = item.id;
    // similar
    const sim = Array.isArray(item.similar) ? item.similar : [];
    if (!sim.length) this.strip.append(el('li', { class: 'similar-none', text: 'No similar images listed.' }));
    for (const [j, score] of sim) {
      if (!(j >= 0 && j < coll.n)) continue;
      const t = coll.title[j] || 'Untitled';
      const pct = Number.isFinite(score) ? score.toFixed(2) : '';
      const btn = el('button', {
        class: 'similar-btn',
        attrs: { type: 'button', 'aria-label': `${t}, similarity ${pct}`, title: t, 'data-item': j },
      });
      if (this.tiles) btn.append(this.tiles.cellCanvas(j, 76));
      btn.append(el('span', { class: 'score', text: pct, attrs: { 'aria-hidden': 'true' } }));
      btn.addEventListener('click', () => this.h.onOpen(j, { fly: true }));
      this.strip.append(el('li', {}, btn));
    }
  }

  /** The full-resolution view (when the item has a pyramid) and the IIIF drag-and-drop link. */
  showIiif(item) {
    if (serviceUrl(item)) {
      const { width: w, height: h } = item.image;
      const size = w > 0 && h > 0 ? ` (${fmt(w)} × ${fmt(h)} px)` : '';
      const b = el('button', {
        class: 'btn full-btn', text: 'Full resolution',
        attrs: { type: 'button', id: 'panel-full', title: `See the image alone, zoomable to its full resolution${size}` },
      });
      b.addEventListener('click', () => this.h.onFull && this.h.onFull(this.item));
      this.iiifEl.append(b);
    }
    const a = typeof item.manifest === 'string' ? manifestLink(this.coll, item.manifest) : null;
    if (a) this.iiifEl.append(a);
  }

  hide() {
    this.item = -1;
    this.root.hidden = true;
    document.body.classList.remove('panel-open');
  }
}
