// Salon collection browser: wires data, viewer, panel, search, facets and the URL hash.
import { loadCollection, loadSearch } from './data.js';
import { Filters } from './filters.js';
import { Viewer } from './viewer.js';
import { Panel } from './panel.js';
import { SearchUI } from './search.js';
import { FacetsUI } from './facets.js';
import { initImageSearch } from './imagesearch.js';
import { parseHash, writeHash, emptyState } from './state.js';
import { el, clear, linkOrText, debounce, isPhone, fmt } from './util.js';

const $ = (id) => document.getElementById(id);
const t0 = 0; // timings are measured from navigation start
const timings = (window.salonTimings = {});

async function main() {
  setupAbout();
  const coll = await loadCollection();
  timings.collection = performance.now() - t0;
  $('collection-count').textContent = `${fmt(coll.n)} items`;
  await osdReady();
  timings.osdReady = performance.now();

  const filters = new Filters(coll);
  let result = filters.compute();
  timings.firstFilter = performance.now();
  const state = emptyState();
  let applying = false;   // true while applying a state from the URL
  let stepPos = -1;
  let cursor = -1;

  const announcer = $('announcer');
  const say = (text) => { announcer.textContent = ''; announcer.textContent = text; };

  // ---- viewer ----
  const tooltip = $('tooltip');
  const viewer = new Viewer($('viewer'), coll, {
    onHover(i, pos) {
      if (i < 0) { tooltip.hidden = true; return; }
      tooltip.textContent = coll.title[i] || 'Untitled';
      tooltip.hidden = false;
      const stage = $('stage');
      const x = Math.min(pos.x + 14, stage.clientWidth - tooltip.offsetWidth - 8);
      const y = pos.y + 18 + tooltip.offsetHeight > stage.clientHeight ? pos.y - tooltip.offsetHeight - 10 : pos.y + 18;
      tooltip.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, y)}px)`;
    },
    onLeave() { tooltip.hidden = true; },
    onClick(i) {
      if (i >= 0) {
        openItem(i, { fly: false });
        requestAnimationFrame(() => viewer.reveal(i)); // not under the panel
      }
    },
    onView() { if (!applying) saveView(); },
    onTileFailed(e) { console.warn('tile failed', e && e.tile && e.tile.getUrl && e.tile.getUrl()); },
  });
  viewer.insets = () => {
    const p = $('panel');
    if (p.hidden) return { right: 0, bottom: 0 };
    const s = $('stage').getBoundingClientRect(), r = p.getBoundingClientRect();
    if (isPhone()) return { right: 0, bottom: Math.max(0, s.bottom - r.top) };
    return { right: Math.max(0, s.right - r.left), bottom: 0 };
  };
  timings.viewerStart = performance.now();
  await viewer.open();
  timings.viewer = performance.now() - t0;
  document.body.classList.remove('is-loading');
  $('loading').hidden = true;

  // ---- panel ----
  const panel = new Panel(coll, {
    onOpen: (i, opts = {}) => openItem(i, { fly: true, replace: !!opts.replace }),
    onClose: () => closeItem(),
    onFacet: (key, value) => {
      filters.facets[key] = new Set([value]);
      refilter({ push: true });
      if (isPhone()) closeItem();
    },
  });
  panel.tiles = viewer.tiles;

  function openItem(i, { fly = true, replace = false, immediate = false } = {}) {
    if (!(i >= 0 && i < coll.n)) return;
    state.item = i;
    cursor = i;
    viewer.setCursor(i);
    viewer.setSelected(i);
    panel.show(i);
    // keep stepping position in sync when the item is a match
    stepPos = result.active ? result.matches.indexOf(i) : -1;
    if (result.active) search.renderPos(result, stepPos);
    if (fly) requestAnimationFrame(() => viewer.flyTo(i, { immediate }));
    say(`Opened ${coll.title[i] || 'Untitled'}`);
    if (!applying) writeState(!replace);
  }

  function closeItem() {
    if (state.item === null) return;
    state.item = null;
    panel.hide();
    viewer.setSelected(-1);
    if (!applying) writeState(true);
    $('stage').focus({ preventScroll: true });
  }

  // ---- search + facets ----
  const search = new SearchUI(coll, {
    onInput(q) {
      filters.q = q;
      refilter({ push: false });
    },
    onPick(i) { openItem(i, { fly: true }); if (isPhone()) setSidebar(false); },
    onStep(d) { step(d); },
  });
  const facets = new FacetsUI(coll, filters, { onChange: (push) => refilter({ push }) });

  function step(d) {
    if (!result.active || !result.count) return;
    const m = result.matches;
    stepPos = stepPos < 0 ? (d > 0 ? 0 : m.length - 1) : (stepPos + d + m.length) % m.length;
    openItem(m[stepPos], { fly: true, replace: true });
  }

  function refilter({ push = false } = {}) {
    const t = performance.now();
    result = filters.compute();
    timings.lastFilter = performance.now() - t;
    viewer.setMask(result.mask);
    stepPos = state.item !== null && result.active ? result.matches.indexOf(state.item) : -1;
    search.render(result, stepPos);
    facets.render(result);
    const nf = facets.activeCount();
    $('filters-badge').hidden = !nf;
    $('filters-badge').textContent = nf ? String(nf) : '';
    $('filters-clear').hidden = !result.active;
    state.q = filters.q;
    state.facets = Object.fromEntries(Object.entries(filters.facets).map(([k, s]) => [k, [...s]]));
    state.years = { ...filters.years };
    timings.lastRender = performance.now() - t;
    if (!applying) writeState(push);
  }

  $('filters-clear').addEventListener('click', () => {
    filters.q = '';
    filters.facets = {};
    filters.years = {};
    search.setQuery('');
    refilter({ push: true });
  });

  // ---- layout ----
  const layoutButtons = [...document.querySelectorAll('#layout-switch [data-layout]')];
  // the groups layout gathers items by a category: the facet with the fewest values (2 to 60)
  const groupKey = Object.keys(coll.facets)
    .filter((k) => coll.facets[k].values.length >= 2 && coll.facets[k].values.length <= 60)
    .sort((a, b) => coll.facets[a].values.length - coll.facets[b].values.length)[0] || null;
  viewer.groupKey = groupKey;
  if (groupKey) {
    const label = (coll.fields.find((f) => f.key === groupKey) || {}).label || groupKey;
    const b = document.querySelector('#layout-switch [data-layout="groups"]');
    b.hidden = false;
    b.setAttribute('aria-label', `Grouped by ${label}`);
    $('groups-label').textContent = `By ${label.toLowerCase()}`;
  }
  function setLayout(layout, { push = true, keepView = false } = {}) {
    if (layout !== 'tsne' && !(layout === 'groups' && groupKey)) layout = 'grid';
    const changed = layout !== viewer.layout;
    state.layout = layout;
    viewer.setLayout(layout);
    for (const b of layoutButtons) b.setAttribute('aria-pressed', b.dataset.layout === layout ? 'true' : 'false');
    document.body.dataset.layout = layout;
    if (changed && !keepView) {
      if (state.item !== null) viewer.flyTo(state.item, { immediate: true });
      else viewer.fit(true);
    }
    if (changed && layout !== 'grid' && !viewer.colors) viewer.loadColors();
    if (!applying) writeState(push);
  }
  for (const b of layoutButtons) b.addEventListener('click', () => setLayout(b.dataset.layout));

  // ---- zoom buttons ----
  $('zoom-in').addEventListener('click', () => viewer.zoomBy(1.6));
  $('zoom-out').addEventListener('click', () => viewer.zoomBy(1 / 1.6));
  $('zoom-fit').addEventListener('click', () => viewer.fit());

  // ---- sidebar (drawer on small screens) ----
  const sidebar = $('sidebar');
  const toggleBtn = $('filters-toggle');
  function setSidebar(open) {
    document.body.classList.toggle('sidebar-open', open);
    document.body.classList.toggle('sidebar-closed', !open);
    toggleBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open && isPhone()) sidebar.focus && sidebar.querySelector('button, input') && sidebar.querySelector('button, input').focus();
  }
  setSidebar(!isPhone() && window.innerWidth >= 1100);
  toggleBtn.addEventListener('click', () => setSidebar(!document.body.classList.contains('sidebar-open')));
  $('sidebar-close').addEventListener('click', () => { setSidebar(false); toggleBtn.focus(); });
  // on a phone the drawer closes with a tap outside it
  document.addEventListener('pointerdown', (e) => {
    if (!isPhone() || !document.body.classList.contains('sidebar-open')) return;
    if (sidebar.contains(e.target) || toggleBtn.contains(e.target)) return;
    setSidebar(false);
  });

  // ---- URL hash ----
  let lastApplied = '';
  const saveView = debounce(() => {
    state.view = viewer.getView();
    writeHash(state, false);
    lastApplied = location.hash;
  }, 250);

  function writeState(push) {
    state.view = viewer.getView();
    writeHash(state, push);
    lastApplied = location.hash;
  }

  function applyState(s, { first = false } = {}) {
    applying = true;
    try {
      filters.q = s.q;
      filters.facets = {};
      for (const [k, vals] of Object.entries(s.facets)) if (coll.facets[k]) filters.facets[k] = new Set(vals);
      filters.years = {};
      for (const [k, r] of Object.entries(s.years)) if (coll.years[k]) filters.years[k] = r;
      search.setQuery(s.q);
      refilter();
      setLayout(s.layout, { keepView: !!s.view });
      if (s.view) viewer.setView(s.view, true);
      else if (first && s.layout !== 'grid') viewer.fit(true);
      if (s.item !== null && s.item < coll.n) openItem(s.item, { fly: !s.view, immediate: first });
      else closeItem();
      Object.assign(state, s, { item: s.item !== null && s.item < coll.n ? s.item : null });
    } finally {
      applying = false;
    }
  }

  const onNav = () => {
    if (location.hash === lastApplied) return;
    lastApplied = location.hash;
    applyState(parseHash(location.hash));
  };
  window.addEventListener('popstate', onNav);
  window.addEventListener('hashchange', onNav);

  // search index after the first paint
  const needsIndex = () => loadSearch(coll).then((idx) => {
    if (idx) {
      filters.setIndex(idx);
      timings.searchIndex = performance.now() - t0;
      if (filters.q) refilter();
    }
  });

  lastApplied = location.hash;
  applyState(parseHash(location.hash), { first: true });
  if (filters.q) await needsIndex();
  else setTimeout(needsIndex, 50);

  // ---- keyboard ----
  const cellStep = (i, dx, dy) => {
    const { cols, rows, cell, cellToItem } = coll;
    let col = cell[i] % cols, row = Math.floor(cell[i] / cols);
    for (let k = 0; k < Math.max(cols, rows); k++) {
      col += dx; row += dy;
      if (col < 0 || row < 0 || col >= cols || row >= rows) return i;
      const j = cellToItem[row * cols + col];
      if (j >= 0 && (!result.mask || result.mask[j])) return j;
    }
    return i;
  };
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = (e.target && e.target.tagName) || '';
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (e.target && e.target.isContentEditable);
    if ($('about').open) return;
    if (e.key === '/' && !typing) {
      e.preventDefault();
      if (isPhone()) setSidebar(false);
      $('search').focus();
      $('search').select();
      return;
    }
    if (typing) return;
    if (e.key === 'Escape') {
      if (state.item !== null) { closeItem(); e.preventDefault(); }
      else if (document.body.classList.contains('sidebar-open') && isPhone()) { setSidebar(false); toggleBtn.focus(); }
      return;
    }
    const onButton = tag === 'BUTTON' || tag === 'A';
    const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (dirs[e.key] && !(onButton && !e.target.closest('#stage'))) {
      e.preventDefault();
      if (cursor < 0) {
        const el0 = $('viewer');
        cursor = viewer.hit({ x: el0.clientWidth / 2, y: el0.clientHeight / 2 });
        if (cursor < 0) cursor = result.active && result.count ? result.matches[0] : coll.cellToItem.find((j) => j >= 0);
      } else {
        cursor = cellStep(cursor, ...dirs[e.key]);
      }
      viewer.setCursor(cursor);
      if (state.item !== null) openItem(cursor, { fly: true, replace: true });
      else { viewer.reveal(cursor); say(coll.title[cursor] || 'Untitled'); }
      return;
    }
    if (e.key === 'Enter' && !onButton && cursor >= 0) {
      e.preventDefault();
      openItem(cursor, { fly: true });
    }
  });

  initImageSearch(coll, { open: (i) => openItem(i, { fly: true }), viewer, mask: () => result.mask });
  // A small handle for tests and the console (read-only use; nothing here is needed by the page).
  window.salon = {
    coll, viewer, filters, state,
    get result() { return result; },
    openItem, closeItem, setLayout,
    settled: () => viewer.settled(),
    /** Centre of item i in CSS pixels relative to the viewer element, in the current view. */
    itemPixel(i) {
      const r = viewer.itemRect(i);
      const p = viewer.osd.viewport.pixelFromPoint(new OpenSeadragon.Point(r.x + r.w / 2, r.y + r.h / 2), true);
      return { x: p.x, y: p.y, size: viewer.osd.viewport.deltaPixelsFromPoints(new OpenSeadragon.Point(r.w, 0), true).x };
    },
  };
  timings.interactive = performance.now() - t0;
  document.body.dataset.ready = 'true';
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
