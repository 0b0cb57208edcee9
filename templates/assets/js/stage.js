// The stage: the viewer following the app state (mask, selection, cursor, layout, view), the
// hover tooltip, the layout switch and the zoom buttons.
import { Viewer } from './viewer.js';
import { isPhone } from './util.js';

const $ = (id) => document.getElementById(id);

/** Make the viewer, open the mosaic and keep the viewer in step with the app. */
export async function setupStage(app) {
  const coll = app.coll;
  const tooltip = $('tooltip');
  const stage = $('stage');
  const viewer = new Viewer($('viewer'), coll, {
    onHover(i, pos) {
      if (i < 0) { tooltip.hidden = true; return; }
      tooltip.textContent = coll.title[i] || 'Untitled';
      tooltip.hidden = false;
      const x = Math.min(pos.x + 14, stage.clientWidth - tooltip.offsetWidth - 8);
      const y = pos.y + 18 + tooltip.offsetHeight > stage.clientHeight ? pos.y - tooltip.offsetHeight - 10 : pos.y + 18;
      tooltip.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, y)}px)`;
    },
    onLeave() { tooltip.hidden = true; },
    onClick(i) {
      if (i < 0) return;
      app.open(i, { fly: false });
      viewer.afterFrame(() => viewer.reveal(i)); // not under the panel
    },
    onView: () => app.viewMoved(),
    onTileFailed(e) { console.warn('tile failed', e && e.tile && e.tile.getUrl && e.tile.getUrl()); },
  });
  viewer.insets = () => {
    const p = $('panel');
    if (p.hidden) return { right: 0, bottom: 0 };
    const s = stage.getBoundingClientRect(), r = p.getBoundingClientRect();
    if (isPhone()) return { right: 0, bottom: Math.max(0, s.bottom - r.top) };
    return { right: Math.max(0, s.right - r.left), bottom: 0 };
  };
  viewer.groupKey = app.groupKey;
  await viewer.open();

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
  setupLayoutSwitch(app);
  $('zoom-in').addEventListener('click', () => viewer.zoomBy(1.6));
  $('zoom-out').addEventListener('click', () => viewer.zoomBy(1 / 1.6));
  $('zoom-fit').addEventListener('click', () => viewer.fit());
  return viewer;
}

function showLayout(app, viewer, { changed, keepView }) {
  const layout = app.layout;
  viewer.setLayout(layout);
  for (const b of document.querySelectorAll('#layout-switch [data-layout]')) {
    b.setAttribute('aria-pressed', b.dataset.layout === layout ? 'true' : 'false');
  }
  document.body.dataset.layout = layout;
  if (changed && !keepView) {
    if (app.item !== null) viewer.flyTo(app.item, { immediate: true });
    else viewer.fit(true);
  }
  if (changed && layout !== 'grid' && !viewer.colors) viewer.loadColors();
}

function setupLayoutSwitch(app) {
  const key = app.groupKey;
  if (key) {
    const label = (app.coll.fields.find((f) => f.key === key) || {}).label || key;
    const b = document.querySelector('#layout-switch [data-layout="groups"]');
    b.hidden = false;
    b.setAttribute('aria-label', `Grouped by ${label}`);
    $('groups-label').textContent = `By ${label.toLowerCase()}`;
  }
  for (const b of document.querySelectorAll('#layout-switch [data-layout]')) {
    b.addEventListener('click', () => app.setLayout(b.dataset.layout));
  }
}
