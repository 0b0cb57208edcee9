// Salon collection browser: loads the data and connects the app state (app.js) to the stage,
// the record panel, the sidebar, the keyboard, the address and search by image.
import { loadCollection, loadSearch } from './data.js';
import { loadRules, facetRange } from './rules.js';
import { App } from './app.js';
import { chooseGroupKey } from './layouts.js';
import { setupStage } from './stage.js';
import { Panel } from './panel.js';
import { Sidebar, setupFilters } from './sidebar.js';
import { setupKeyboard } from './keyboard.js';
import { HashSync } from './hash.js';
import { initImageSearch } from './imagesearch.js';
import { el, clear, linkOrText, isPhone, fmt } from './util.js';

const $ = (id) => document.getElementById(id);

async function main() {
  const [coll] = await Promise.all([loadCollection(), loadRules()]);
  setupAbout();
  $('collection-count').textContent = `${fmt(coll.n)} items`;
  await osdReady();
  const app = new App(coll, { groupKey: chooseGroupKey(coll.facets, facetRange()) });
  const say = announcer($('announcer'));
  const viewer = await setupStage(app);
  document.body.classList.remove('is-loading');
  $('loading').hidden = true;
  setupPanel(app, viewer, say);
  const sidebar = new Sidebar();
  setupFilters(app, sidebar);
  const hash = new HashSync(app, () => viewer.getView());
  hash.start();
  await searchIndex(app);
  setupKeyboard(app, { viewer, sidebar, say });
  initImageSearch(app, { viewer });
  exposeForTests(app, viewer, hash);
  document.body.dataset.ready = 'true';
}

function announcer(node) {
  return (text) => { node.textContent = ''; node.textContent = text; };
}

function setupPanel(app, viewer, say) {
  const panel = new Panel(app.coll, {
    onOpen: (i, opts = {}) => app.open(i, { fly: true, replace: !!opts.replace }),
    onClose: () => app.close(),
    onFacet: (key, value) => {
      app.setFacet(key, [value]);
      if (isPhone()) app.close();
    },
  });
  panel.tiles = viewer.tiles;
  app.addEventListener('change', (e) => {
    if (e.detail.what !== 'item') return;
    if (app.item === null) {
      panel.hide();
      $('stage').focus({ preventScroll: true });
    } else {
      panel.show(app.item);
      say(`Opened ${app.coll.title[app.item] || 'Untitled'}`);
    }
  });
}

/** The full-text index (data/search.json): awaited when the page opens with a query, else after the first paint. */
async function searchIndex(app) {
  const load = () => loadSearch(app.coll).then((idx) => {
    if (!idx) return;
    app.filters.setIndex(idx);
    if (app.filters.q) app.refilter();
    document.body.dataset.searchIndex = 'ready';
  });
  if (app.filters.q) await load();
  else setTimeout(load, 50);
}

/** A small handle for tests and the console (read-only use; nothing here is needed by the page). */
function exposeForTests(app, viewer, hash) {
  window.salon = {
    app, coll: app.coll, viewer, filters: app.filters,
    get result() { return app.result; },
    openItem: (i, opts) => app.open(i, opts),
    closeItem: () => app.close(),
    setLayout: (l) => app.setLayout(l),
    settled: () => viewer.settled(),
    hashInSync: () => hash.inSync(),
    /** Centre of item i in CSS pixels relative to the viewer element, in the current view. */
    itemPixel(i) {
      const r = viewer.itemRect(i);
      const vp = viewer.osd.viewport;
      const p = vp.pixelFromPoint(new OpenSeadragon.Point(r.x + r.w / 2, r.y + r.h / 2), true);
      return { x: p.x, y: p.y, size: vp.deltaPixelsFromPoints(new OpenSeadragon.Point(r.w, 0), true).x };
    },
  };
}

function osdReady() {
  if (window.OpenSeadragon) return Promise.resolve();
  return new Promise((resolve) => {
    const s = document.querySelector('script[src$="openseadragon.min.js"]');
    s.addEventListener('load', () => resolve(), { once: true });
    if (window.OpenSeadragon) resolve();
  });
}

function setupAbout() {
  const dlg = $('about');
  $('about-open').addEventListener('click', () => dlg.showModal());
  // credits: a link only when the URL is http(s) or relative
  const cred = $('about-credit');
  const text = cred.dataset.credit || '';
  const url = cred.dataset.creditUrl || '';
  clear(cred);
  if (text || url) {
    cred.append(el('span', { class: 'muted', text: 'Credit: ' }), url ? linkOrText(url, text || url) : el('span', { text }));
  }
  const foot = $('credit-line');
  if (url && text) {
    clear(foot);
    foot.append(linkOrText(url, text));
  }
  dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
}

main().catch((err) => {
  console.error(err);
  const l = document.getElementById('loading');
  if (l) { l.hidden = false; l.textContent = `The collection could not be loaded: ${err.message}`; l.classList.add('is-error'); }
});
