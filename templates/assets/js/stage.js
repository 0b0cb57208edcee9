// The stage: the viewer following the app state (mask, selection, cursor, layout, view), the
// hover tooltip, the layout switch (with the column the groups gather by) and the zoom buttons.
import { Viewer } from './viewer.js';
import { layoutChoices } from './layouts.js';
import { isPhone, el } from './util.js';

const $ = (id) => document.getElementById(id);

/**
 * Make the viewer and open the mosaic: the first paint, which needs only the grid's cell order.
 * Hover, clicks and moves reach the app once there is one (app(): null until the rest is in).
 */
export async function openStage(coll, app) {
  const tooltip = $('tooltip');
  const stage = $('stage');
  const viewer = new Viewer($('viewer'), coll, {
    onHover(i, pos) {
      if (i < 0 || !app()) { tooltip.hidden = true; return; }
      tooltip.textContent = coll.title[i] || 'Untitled';
      tooltip.hidden = false;
      const x = Math.min(pos.x + 14, stage.clientWidth - tooltip.offsetWidth - 8);
      const y = pos.y + 18 + tooltip.offsetHeight > stage.clientHeight ? pos.y - tooltip.offsetHeight - 10 : pos.y + 18;
      tooltip.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, y)}px)`;
    },
    onLeave() { tooltip.hidden = true; },
    onClick(i) {
      if (i < 0 || !app()) return;
      app().open(i, { fly: false });
      viewer.afterFrame(() => viewer.reveal(i)); // not under the panel
    },
    onView: () => app() && app().viewMoved(),
    onTileFailed(e) { console.warn('tile failed', e && e.tile && e.tile.getUrl && e.tile.getUrl()); },
  });
  viewer.insets = () => {
    const p = $('panel');
    if (p.hidden) return { right: 0, bottom: 0 };
    const s = stage.getBoundingClientRect(), r = p.getBoundingClientRect();
    if (isPhone()) return { right: 0, bottom: Math.max(0, s.bottom - r.top) };
    return { right: Math.max(0, s.right - r.left), bottom: 0 };
  };
  await viewer.open();
  $('zoom-in').addEventListener('click', () => viewer.zoomBy(1.6));
  $('zoom-out').addEventListener('click', () => viewer.zoomBy(1 / 1.6));
  $('zoom-fit').addEventListener('click', () => viewer.fit());
  return viewer;
}

/** Keep the viewer in step with the app (mask, selection, cursor, layout, view) and offer the layouts. */
export function connectStage(app, viewer) {
  viewer.groupKey = app.groupKey;
  app.addEventListener('change', (e) => {
    const d = e.detail;
    switch (d.what) {
      case 'filters': viewer.setMask(app.result.mask); break;
      case 'cursor': viewer.setCursor(app.cursor); break;
      case 'item':
        viewer.setCursor(app.cursor);
        viewer.setSelected(app.item === null ? -1 : app.item);
        if (app.item !== null && d.fly) {
          const i = app.item;
          viewer.afterFrame(() => viewer.flyTo(i, { immediate: d.immediate })); // once the panel is laid out
        }
        break;
      case 'layout': showLayout(app, viewer, d); break;
      case 'view': if (d.view) viewer.setView(d.view, true); break;
      case 'fit': viewer.fit(true); break;
    }
  });
  setupLayoutSwitch(app, viewer);
}

/**
 * Follow a layout change. A visitor's switch moves every item to its new place (viewer.switchLayout);
 * a state from the address, or one that brings its own view, is shown at once.
 */
function showLayout(app, viewer, { changed, keepView, fromUrl }) {
  const layout = app.layout;
  viewer.groupKey = app.groupKey;
  if (changed) {
    const focus = app.item === null ? -1 : app.item;
    if (keepView) viewer.switchLayout(layout, { animate: false });
    else viewer.switchLayout(layout, { focus, animate: !fromUrl });
  }
  for (const b of document.querySelectorAll('#layout-switch [data-layout]')) {
    b.setAttribute('aria-pressed', b.dataset.layout === layout ? 'true' : 'false');
  }
  const by = $('group-by');
  if (by) {
    by.closest('.group-by').hidden = layout !== 'groups';
    if (app.groupKey) by.value = app.groupKey;
    const f = app.coll.fields.find((x) => x.key === app.groupKey);
    $('groups-label').textContent = `By ${((f && f.label) || app.groupKey).toLowerCase()}`;
  }
  document.body.dataset.layout = layout;
  if (changed && !viewer.colors) viewer.loadColors();
}

/** The switch: a button per layout the collection offers; a select of the columns to group by. */
function setupLayoutSwitch(app, viewer) {
  const coll = app.coll;
  const sw = $('layout-switch');
  const label = (key) => (coll.fields.find((f) => f.key === key) || {}).label || key;
  for (const c of layoutChoices(coll, !!app.groupKey)) {
    let b = sw.querySelector(`[data-layout="${c.name}"]`);  // names are letters, digits, - and _
    if (!b) {
      b = el('button', { attrs: { type: 'button', 'data-layout': c.name, 'aria-pressed': 'false', 'aria-label': c.label, title: c.title } },
        el('span', { class: 'seg-long', text: c.label }), el('span', { class: 'seg-short', text: c.short }));
      sw.append(b);
    }
    if (c.name === 'tsne') b.title = c.title;
  }
  if (app.groupKey) {
    const b = sw.querySelector('[data-layout="groups"]');
    b.hidden = false;
    b.setAttribute('aria-label', 'Groups');
    $('groups-label').textContent = `By ${label(app.groupKey).toLowerCase()}`;
    const select = el('select', { attrs: { id: 'group-by', title: 'The column the groups gather by' } });
    for (const key of coll.facets.keys()) select.append(el('option', { text: label(key), attrs: { value: key } }));
    select.value = app.groupKey;
    select.addEventListener('change', () => app.setGroupKey(select.value));
    const wrap = el('label', { class: 'group-by' }, el('span', { class: 'visually-hidden', text: 'Group by' }), select);
    wrap.hidden = true;
    sw.after(wrap);
  }
  for (const b of sw.querySelectorAll('[data-layout]')) {
    b.addEventListener('click', () => app.setLayout(b.dataset.layout));
  }
  // the items' colours (for moving them) are fetched when the visitor reaches for the switch
  const warm = () => { if (!viewer.colors) viewer.loadColors(); };
  sw.addEventListener('pointerenter', warm, { once: true });
  sw.addEventListener('focusin', warm, { once: true });
}
