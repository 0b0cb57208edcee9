// Salon collection browser: loads the data and connects the app state (app.js) to the stage,
// the record panel, the sidebar, the keyboard, the address and search by image.
import { loadCollection } from './data.js';
import { loadRules, facetRange } from './rules.js';
import { App } from './app.js';
import { warmUp } from './filters.js';
import { chooseGroupKey } from './layouts.js';
import { openStage, connectStage } from './stage.js';
import { Panel } from './panel.js';
import { Sidebar, setupFilters, showRegions } from './sidebar.js';
import { loadTextSearch } from './search.js';
import { Marks } from './marks.js';
import { Regions, loadRegions } from './regions.js';
import { setupWelcome } from './welcome.js';
import { setupKeyboard } from './keyboard.js';
import { HashSync } from './hash.js';
import { initImageSearch } from './imagesearch.js';
import { FullView } from './fullres.js';
import { el, clear, linkOrText, isPhone, fmt } from './util.js';

const $ = (id) => document.getElementById(id);

async function main() {
  const [coll] = await Promise.all([loadCollection(), loadRules()]);
  setupAbout();
  $('collection-count').textContent = `${fmt(coll.n)} items`;
  await osdReady();
  let app = null;
  const viewer = await openStage(coll, () => app);  // the first paint: the mosaic
  document.body.classList.remove('is-loading');
  $('loading').hidden = true;
  document.body.dataset.painted = 'true';
  await coll.complete;  // titles, map positions, facets, years and layouts, fetched meanwhile
  app = new App(coll, { groupKey: chooseGroupKey(coll.facets, facetRange()) });
  connectStage(app, viewer);
  const say = announcer($('announcer'));
  setupPanel(app, viewer, say);
  const fullView = new FullView(app);
  const sidebar = new Sidebar();
  const marks = new Marks(viewer);
  viewer.painters.push((ctx, view, dpr) => marks.paint(ctx, view, dpr));
  let regions = null;
  const filtersUI = setupFilters(app, sidebar, { viewer, marks, regions: () => regions });
  const hash = new HashSync(app, () => viewer.getView());
  hash.start();
  if (app.filters.q) await loadTextSearch(app);  // a link with a query: rank it before the first answer
  setupKeyboard(app, { viewer, sidebar, say });
  initImageSearch(app, { viewer, marks });
  setupWelcome(app, viewer);
  exposeForTests(app, viewer, hash, fullView);
  window.salon.marks = marks;
  document.body.dataset.ready = 'true';
  viewer.warm();
  (window.requestIdleCallback || setTimeout)(() => warmUp(coll));
  loadRegions(coll).then((data) => {
    if (!data) return;
    regions = window.salon.regions = new Regions(data, app, viewer);
    viewer.painters.push((ctx, view, dpr) => regions.paint(ctx, view, dpr));
    showRegions(regions, sidebar);
    if (app.filters.q) filtersUI.update();
    viewer.schedule();
    document.body.dataset.regions = 'ready';
  });
}

function announcer(node) {
  return (text) => { node.textContent = ''; node.textContent = text; };
}

function setupPanel(app, viewer, say) {
  const panel = new Panel(app.coll, {
    onOpen: (i, opts = {}) => app.open(i, { fly: true, replace: !!opts.replace }),
    onClose: () => app.close(),
    onFull: () => app.setFull(true),
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
      viewer.osd.canvas.focus({ preventScroll: true });  // back to the mosaic, its cursor on the item
    } else {
      panel.show(app.item);
      say(`Opened ${app.coll.title[app.item] || 'Untitled'}`);
    }
  });
}

/** A small handle for tests and the console (read-only use; nothing here is needed by the page). */
function exposeForTests(app, viewer, hash, fullView) {
  window.salon = {
    app, coll: app.coll, viewer, filters: app.filters, fullView,
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
