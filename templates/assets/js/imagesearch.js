// Search by image: the visitor's picture goes through the collection's own feature model
// (ONNX, run by onnxruntime-web on WebAssembly) and is compared with every item's vector.
// Nothing is uploaded; the model, runtime and vectors are fetched only when search is opened,
// with a progress bar counting their bytes as they arrive. The whole collection is searched unless the visitor
// turns on "within current filters"; the build's calibrated rule (image_search.match) says whether
// the best item is a close match at all, and says so when it is not. Results stand out on the
// mosaic in every layout (marks.js) and everything else is dimmed.
// Files and their layout: docs/site-format.md, "data/image-search/".
import { el, clear, fmt } from './util.js';
import { getItem } from './data.js';
import { resize, flatten, project, scoreAll } from './resample.js';

const SHOW = 24;          // results listed and marked on the mosaic
const MAX_PIXELS = 40e6;  // larger images are halved by the canvas before our resampling
const CSS = 'assets/imagesearch.css';
const ICON_IMAGE = 'M4 5h16v14H4zM4 15l4.5-4.5 4 4 2.5-2.5L20 17M15.5 9.5h.01';
const ICON_CLOSE = 'M6 6l12 12M18 6 6 18';
const abs = (rel) => new URL(rel, document.baseURI).href;

function svgIcon(path) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: 18, height: 18, 'aria-hidden': 'true' })) svg.setAttribute(k, v);
  const p = document.createElementNS(ns, 'path');
  for (const [k, v] of Object.entries({ d: path, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linejoin': 'round' })) p.setAttribute(k, v);
  svg.append(p);
  return svg;
}

/**
 * Whether the best of `scores` (best first) is a close match under the build's rule
 * (collection.json image_search.match; pipeline/image_search.py is_close is the same rule).
 * Without a rule (an older site) every best item counts as close.
 */
export function isClose(match, scores) {
  if (!scores.length) return false;
  if (!match) return true;
  if (scores[0] < match.min_score) return false;
  const second = scores.length > 1 ? scores[1] : -1;
  return scores[0] - second >= match.min_margin || scores[0] >= match.sure_score;
}

/** The items to list: the best `k` by score, best first, among those `mask` lets through (all without one). */
export function topItems(scores, mask, k) {
  const order = [];
  for (let i = 0; i < scores.length; i++) if (!mask || mask[i]) order.push(i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return { top: order.slice(0, k), pool: order.length };
}

/**
 * Wire the "Search by image" control. app: the App (its filters narrow the results when the
 * visitor asks, its open() opens one); viewer: the Viewer (dimming, thumbnails); marks: the Marks.
 */
export function initImageSearch(app, { viewer, marks = null }) {
  const coll = app.coll;
  const desc = coll.raw && coll.raw.image_search;
  const button = document.getElementById('image-search-open');
  if (!desc || desc.schema !== 2) { if (button) button.hidden = true; return null; }  // image_search.SCHEMA
  loadCss(CSS);  // small; the model and vectors wait until search is opened
  const ui = new ImageSearchUI(app, desc, viewer, marks);
  if (button) {
    const label = el('span', { class: 'isearch-label', text: button.textContent.trim() });
    button.setAttribute('aria-label', label.textContent);
    button.replaceChildren(svgIcon(ICON_IMAGE), label);
    button.hidden = false;
    button.addEventListener('click', () => ui.toggle());
  }
  // drop or paste an image anywhere on the page: search with it
  document.addEventListener('dragover', (e) => { if (hasFiles(e.dataTransfer)) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e.dataTransfer)) return;
    e.preventDefault();  // never let a dropped file replace the page
    const file = imageFile(e.dataTransfer);
    ui.show().then(() => (file ? ui.query(file) : ui._say('That file is not an image.', true)));
  });
  document.addEventListener('paste', (e) => {
    const file = imageFile(e.clipboardData);
    if (!file) return;  // text pastes go where they were going
    e.preventDefault();
    ui.show().then(() => ui.query(file));
  });
  window.salonImageSearch = ui;  // for tests and curious visitors: ui.last holds the last query
  return ui;
}

const hasFiles = (dt) => !!dt && [...(dt.types || [])].includes('Files');

function imageFile(dt) {
  if (!dt) return null;
  const files = [...(dt.files || [])];
  for (const item of dt.items || []) if (item.kind === 'file') { const f = item.getAsFile(); if (f) files.push(f); }
  return files.find((f) => /^image\//.test(f.type) || /\.(jpe?g|png|gif|webp|avif|bmp|svg)$/i.test(f.name || '')) || null;
}

// ---- model files ------------------------------------------------------------------------------

/**
 * A file's bytes; onBytes(n) hears of every n bytes as they arrive, in the file's own (decoded)
 * bytes: `size`, when given, scales what the network reports (a host may send it compressed).
 * XMLHttpRequest's progress events, not a fetch body read as a stream: Chromium reports streamed
 * bodies read to their end as aborted requests now and then, which would hide real failures.
 */
export function fetchCounted(url, onBytes = () => {}, size = 0) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', abs(url));
    xhr.responseType = 'arraybuffer';
    let told = 0;
    const tell = (e) => {
      const now = size && e.lengthComputable && e.total ? Math.round((e.loaded / e.total) * size) : e.loaded;
      if (now > told) { onBytes(now - told); told = now; }
    };
    xhr.onprogress = tell;
    xhr.onload = () => {
      if (xhr.status < 200 || xhr.status >= 300) { reject(new Error(`${url}: HTTP ${xhr.status}`)); return; }
      const buf = xhr.response;
      if (buf.byteLength > told && !size) onBytes(buf.byteLength - told);
      else if (size > told) onBytes(size - told);
      resolve(buf);
    };
    xhr.onerror = () => reject(new Error(`${url}: the download failed`));
    xhr.send();
  });
}

const WASM = 'ort-wasm-simd-threaded.wasm';   // the runtime's WebAssembly (most of its bytes)

/** Bytes to fetch before the first search: model, PCA, vectors and the runtime. */
export const engineBytes = (desc) => desc.model.bytes + desc.pca.bytes + desc.vectors.bytes + desc.runtime.bytes;

/** int8 rows (each `d` long) times their scales, as float32: pca.bin's components. */
export function dequantizeRows(codes, scales, d) {
  const out = new Float32Array(codes.length);
  for (let r = 0; r < scales.length; r++) for (let j = r * d; j < (r + 1) * d; j++) out[j] = codes[j] * scales[r];
  return out;
}

/** Loads onnxruntime-web, the model, the PCA and the item vectors (once); onBytes(n) counts them. */
async function loadEngine(desc, onBytes) {
  const t0 = performance.now();
  const [ort, model, pca, vec, wasm] = await Promise.all([
    import(abs(desc.runtime.module)),
    fetchCounted(desc.model.file, onBytes, desc.model.bytes),
    fetchCounted(desc.pca.file, onBytes, desc.pca.bytes),
    fetchCounted(desc.vectors.file, onBytes, desc.vectors.bytes),
    fetchCounted(`${desc.runtime.dir}${WASM}`, onBytes).catch(() => null),  // else the runtime fetches it
  ]);
  ort.env.wasm.wasmPaths = abs(desc.runtime.dir);
  if (wasm) ort.env.wasm.wasmBinary = wasm;
  ort.env.wasm.numThreads = 1;   // threads need cross-origin isolation, which static hosts rarely give
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(new Uint8Array(model), {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all',
  });
  const p = desc.pca, v = desc.vectors;
  const d = p.dims, k = p.components, n = v.count;
  return {
    ort, session, d, k, n,
    mean: new Float32Array(pca, p.mean.offset, d),
    matrix: dequantizeRows(new Int8Array(pca, p.matrix.offset, k * d), new Float32Array(pca, p.scales.offset, k), d),
    scales: new Float32Array(vec, v.scales.offset, n),
    codes: new Int8Array(vec, v.codes.offset, n * k),
    loadMs: performance.now() - t0,
    bytes: model.byteLength + pca.byteLength + vec.byteLength,
  };
}

// ---- pixels -------------------------------------------------------------------------------------

async function decodeImage(blob) {
  const svg = blob.type === 'image/svg+xml' || /\.svgz?$/i.test(blob.name || '');
  if (!svg && typeof createImageBitmap === 'function') {
    try { return await createImageBitmap(blob, { imageOrientation: 'from-image' }); } catch { /* try <img> */ }
  }
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return { source: img, width: img.naturalWidth || 0, height: img.naturalHeight || 0, vector: svg, url };
  } catch (err) {
    URL.revokeObjectURL(url);
    throw err;
  }
}

function canvas(w, h) {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  return [c, c.getContext('2d', { willReadFrequently: true })];
}

/**
 * The model input, made as the build makes it: the whole image stretched to size x size,
 * then alpha flattened on the background. SVGs are drawn at the target size (libvips renders
 * them at the target scale too).
 */
function toPixels(img, size, bg) {
  const vector = !!img.vector || !(img.width > 0 && img.height > 0);
  let w = vector ? size : img.width, h = vector ? size : img.height;
  // Huge scans would exceed canvas limits: let the browser halve them first (a box-like shrink).
  while (w * h > MAX_PIXELS) { w = Math.ceil(w / 2); h = Math.ceil(h / 2); }
  const [c, ctx] = canvas(w, h);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img.source || img, 0, 0, w, h);
  let rgba;
  try {
    rgba = ctx.getImageData(0, 0, w, h).data;
  } catch (err) {
    // Browsers refuse to let a page read back what some SVGs draw (foreignObject: HTML inside).
    if (err && err.name === 'SecurityError') throw new UnreadableImage(vector);
    throw err;
  } finally {
    if (!rgba) c.width = c.height = 0;
  }
  const { pixels, rgba: shown } = flatten(resize(rgba, w, h, size), bg);
  const [pc, pctx] = canvas(size, size);
  pctx.putImageData(new ImageData(shown, size, size), 0, 0);
  c.width = c.height = 0;  // free the full-size canvas now
  return { pixels, preview: pc };
}

/** An image the browser draws but will not let the page read (a canvas "tainted" by it). */
class UnreadableImage extends Error {
  constructor(svg) {
    super(svg ? 'This SVG cannot be searched: it contains HTML (a foreignObject), which the browser does not let the page read. Save it as PNG or JPEG and try that.'
      : 'The browser does not let the page read this image. Save it as PNG or JPEG and try that.');
    this.name = 'UnreadableImage';
  }
}

// ---- the panel ----------------------------------------------------------------------------------

class ImageSearchUI {
  constructor(app, desc, viewer, marks) {
    this.app = app;
    this.coll = app.coll;
    this.desc = desc;
    this.viewer = viewer;
    this.marks = marks;
    this.engine = null;
    this.last = null;      // {features, vector, scores, timings, results, close}
    this.spot = null;      // the items marked on the mosaic, or null
    this.root = null;
    this._busy = Promise.resolve();
    // while results are shown they stay marked and the rest dimmed, whatever the filters do
    // (the stage has just applied the filters' mask: put the results' back); within the filters,
    // they follow them
    app.addEventListener('change', (e) => {
      if (e.detail.what !== 'filters' || !this.isOpen || !this.last) return;
      this._updateScope();
      this._render();
    });
  }

  get isOpen() { return !!this.root && !this.root.hidden; }

  toggle() { return this.isOpen ? this.hide() : this.show(); }

  async show() {
    if (!this.root) await this._build();
    this.root.hidden = false;
    document.getElementById('image-search-open')?.setAttribute('aria-expanded', 'true');
    this.pickBtn.focus({ preventScroll: true });
    this._ensureEngine().catch(() => {});
    if (this.last) this._render();
  }

  hide() {
    if (!this.root) return;
    this.root.hidden = true;
    this._spotlight(null);
    const b = document.getElementById('image-search-open');
    if (b) { b.setAttribute('aria-expanded', 'false'); b.focus({ preventScroll: true }); }
  }

  async _build() {
    await loadCss(CSS);
    const fileInput = el('input', { class: 'visually-hidden', attrs: { type: 'file', accept: 'image/*', id: 'image-search-file', tabindex: '-1' } });
    const camInput = el('input', { class: 'visually-hidden', attrs: { type: 'file', accept: 'image/*', capture: 'environment', id: 'image-search-camera', tabindex: '-1' } });
    this.pickBtn = el('button', { class: 'btn', text: 'Choose an image', attrs: { type: 'button' } });
    const camBtn = el('button', { class: 'btn', text: 'Take a photo', attrs: { type: 'button' } });
    this.pickBtn.addEventListener('click', () => fileInput.click());
    camBtn.addEventListener('click', () => camInput.click());
    for (const input of [fileInput, camInput]) {
      input.addEventListener('change', () => {
        const f = input.files && input.files[0];
        if (f) this.query(f);
        input.value = '';
      });
    }
    this.drop = el('div', { class: 'isearch-drop' },
      el('p', { class: 'isearch-hint', text: 'Drop or paste an image here, or' }),
      el('div', { class: 'isearch-buttons' }, this.pickBtn, camBtn), fileInput, camInput);
    this.drop.addEventListener('dragenter', () => this.drop.classList.add('is-over'));
    this.drop.addEventListener('dragleave', () => this.drop.classList.remove('is-over'));
    this.drop.addEventListener('drop', () => this.drop.classList.remove('is-over'));
    this.preview = el('div', { class: 'isearch-preview' });
    this.scope = el('input', { attrs: { type: 'checkbox', id: 'image-search-within' } });
    this.scopeNote = el('span', { class: 'isearch-scope-note' });
    this.scope.addEventListener('change', () => this._render());
    const scope = el('label', { class: 'isearch-scope', attrs: { for: 'image-search-within' } },
      this.scope, el('span', { text: 'Within current filters' }), this.scopeNote);
    this.progress = el('progress', { class: 'isearch-bar', attrs: { max: 1, value: 0, id: 'image-search-progress', 'aria-label': 'Loading the image model' } });
    this.progressText = el('span', { class: 'isearch-bytes' });
    this.progressBox = el('div', { class: 'isearch-progress', attrs: { hidden: true } }, this.progress, this.progressText);
    this.status = el('p', { class: 'isearch-status', attrs: { role: 'status', 'aria-live': 'polite', id: 'image-search-status' } });
    this.list = el('ol', { class: 'isearch-results', attrs: { id: 'image-search-results', 'aria-label': 'Most similar items' } });
    const close = el('button', { class: 'icon-btn', attrs: { type: 'button', 'aria-label': 'Close search by image' } },
      svgIcon(ICON_CLOSE));
    close.addEventListener('click', () => this.hide());
    this.root = el('section', { class: 'isearch', attrs: { id: 'image-search', 'aria-labelledby': 'image-search-title', hidden: true } },
      el('div', { class: 'isearch-head' },
        el('h2', { class: 'isearch-title', text: 'Search by image', attrs: { id: 'image-search-title' } }), close),
      el('p', { class: 'isearch-note', text: 'Your image stays on this device: it is compared with the collection right here in the browser.' }),
      this.drop, scope, this.progressBox, this.preview, this.status, this.list);
    this._updateScope();
    this.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.stopPropagation(); this.hide(); }
    });
    document.body.append(this.root);
  }

  _say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle('is-error', error);
  }

  /** The switch says how many items the filters leave; without filters there is nothing to narrow. */
  _updateScope() {
    if (!this.scope) return;
    const r = this.app.result;
    this.scope.disabled = !r.active;
    this.scopeNote.textContent = r.active ? ` (${fmt(r.count)} items)` : ' (no filters on)';
  }

  _ensureEngine() {
    if (!this._engine) {
      const total = engineBytes(this.desc);
      let loaded = 0, frame = 0;
      const show = () => {
        frame = 0;
        this.progress.value = Math.min(1, loaded / total);
        this.progressText.textContent = `${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
        this.progressBox.dataset.loaded = String(loaded);
      };
      this.progressBox.hidden = false;
      show();
      this._say('Loading the image model (once; later searches start at once)…');
      this._engine = loadEngine(this.desc, (n) => {
        loaded += n;
        this.loadedBytes = loaded;
        if (!frame) frame = requestAnimationFrame(show);
      }).then((eng) => {
        this.progressBox.hidden = true;
        this.engine = eng;
        if (!this.last && !this.status.classList.contains('is-error')) this._say('Ready: choose, drop, paste or photograph an image.');
        return eng;
      }, (err) => {
        this._engine = null;
        this.progressBox.hidden = true;
        console.error(err);
        this._say(`Search by image could not start: ${err.message}`, true);
        throw err;
      });
    }
    return this._engine;
  }

  /** Search with an image file or blob; resolves to [[item, score], …] best first. */
  query(blob) {
    this._busy = this._busy.then(() => this._query(blob), () => this._query(blob));
    return this._busy;
  }

  async _query(blob) {
    if (!this.root) await this.show();
    try {
      return await this._run(blob);
    } catch (err) {
      console.error(err);
      this._say(`The search failed: ${err.message}`, true);
      return null;
    }
  }

  async _run(blob) {
    const t0 = performance.now();
    this._say('Reading the image…');
    let img;
    try {
      img = await decodeImage(blob);
    } catch {
      this._say('This file could not be read as an image.', true);
      return null;
    }
    const size = this.desc.model.size[0];
    let prepared;
    try {
      prepared = toPixels(img, size, this.desc.model.background);
    } catch (err) {
      if (!(err instanceof UnreadableImage)) throw err;
      this._say(err.message, true);
      return null;
    } finally {
      if (img.close) img.close();
      if (img.url) URL.revokeObjectURL(img.url);
    }
    const { pixels, preview } = prepared;
    clear(this.preview);
    preview.className = 'isearch-query';
    preview.setAttribute('aria-hidden', 'true');
    this.preview.append(preview);
    const tPrep = performance.now() - t0;
    const eng = await this._ensureEngine();
    this._say('Comparing…');
    const t1 = performance.now();
    const input = new eng.ort.Tensor('float32', pixels, [1, size, size, 3]);
    const out = await eng.session.run({ [this.desc.model.input]: input });
    const features = out[this.desc.model.output].data;
    const t2 = performance.now();
    const vector = project(eng, features);
    const scores = scoreAll(eng, vector);
    const t3 = performance.now();
    this.last = { features: Array.from(features), vector: Array.from(vector), scores, input: pixels,
      timings: { prepare: tPrep, model: t2 - t1, rank: t3 - t2, total: tPrep + (t3 - t1), load: eng.loadMs } };
    this._render();
    this.root.dataset.queries = String((+this.root.dataset.queries || 0) + 1);  // lets tests wait for it
    return this.last.results;
  }

  /**
   * The best items of the whole collection, or of what the filters leave when the visitor asks;
   * whether the best is a close match (the build's calibrated rule); marked on the mosaic.
   */
  _render() {
    if (!this.last) return;
    const within = this.scope.checked && this.app.result.active;
    const { scores } = this.last;
    const { top, pool } = topItems(scores, within ? this.app.result.mask : null, SHOW);
    const close = isClose(this.desc.match, top.map((i) => scores[i]));
    this.last.results = top.map((i) => [i, scores[i]]);
    this.last.close = close;
    clear(this.list);
    this.list.classList.toggle('is-far', !close);
    top.forEach((i, r) => this.list.append(this._row(i, scores[i], r)));
    const t = this.last.timings;
    const where = within ? ` among ${fmt(pool)} filtered items` : '';
    const secs = `${(t.total / 1000).toFixed(2)} s`;
    if (!top.length) this._say('No items match the current filters: turn off "Within current filters" to search them all.');
    else if (close) this._say(`${top.length} most similar${where} · ${secs}`);
    else this._say(`No close match${where}: nothing here looks much like this image. The nearest items, none of them close:`);
    this.root.dataset.state = !top.length ? 'empty' : close ? 'close' : 'none';
    this._spotlight(close ? top : null);
  }

  /** Mark items on the mosaic and dim the rest (null: back to the filters' own dimming). */
  _spotlight(items) {
    this.spot = items && items.length ? items : null;
    if (this.marks) this.marks.setImage(this.spot);
    const v = this.viewer;
    if (!v || !v.setMask) return;
    if (this.spot) {
      const mask = new Uint8Array(this.coll.n);
      for (const i of this.spot) mask[i] = 1;
      v.setMask(mask);
    } else {
      v.setMask(this.app.result.mask);
    }
  }

  _row(i, score, rank) {
    const title = this.coll.title[i] || 'Untitled';
    const tiles = this.viewer && this.viewer.tiles;
    let img;
    if (tiles && tiles.cellCanvas) {  // the cell from the mosaic's tiles: no item chunk to fetch
      img = tiles.cellCanvas(i, 56);
      img.classList.add('isearch-thumb');
      img.setAttribute('aria-hidden', 'true');
    } else {
      img = el('img', { class: 'isearch-thumb', attrs: { alt: '', width: 56, height: 56, decoding: 'async' } });
      getItem(this.coll, i).then((item) => { if (item && item.thumb) img.src = item.thumb; }).catch(() => {});
    }
    const btn = el('button', { class: 'isearch-hit', attrs: { type: 'button', 'data-item': i, 'data-rank': rank + 1 } },
      img,
      el('span', { class: 'isearch-hit-title', text: title }),
      el('span', { class: 'isearch-score', text: score.toFixed(2), attrs: { title: 'cosine similarity' } }));
    btn.addEventListener('click', () => this.app.open(i, { fly: true }));
    return el('li', {}, btn);
  }
}

function loadCss(href) {
  if (document.querySelector(`link[href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve) => {
    const link = el('link', { attrs: { rel: 'stylesheet', href } });
    link.addEventListener('load', resolve, { once: true });
    link.addEventListener('error', resolve, { once: true });
    document.head.append(link);
  });
}
