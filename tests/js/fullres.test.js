// Full resolution (fullres.js): where an item's image goes, its service read from our own folder,
// the Manifest's address for the drag-and-drop link, and the full view in the app state and hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyColl } from './helpers.js';
import { containRect, placeRect, localService, serviceUrl, manifestAddress } from '../../templates/assets/js/fullres.js';
import { App } from '../../templates/assets/js/app.js';
import { parseHash, toHash } from '../../templates/assets/js/hash.js';

test('an image is letterboxed in its cell like the mosaic (contain, centred)', () => {
  assert.deepEqual(containRect({ x: 0, y: 0, w: 1, h: 1 }, 2000, 1000), { x: 0, y: 0.25, w: 1, h: 0.5 });
  assert.deepEqual(containRect({ x: 2, y: 4, w: 2, h: 1 }, 500, 1000), { x: 2.75, y: 4, w: 0.5, h: 1 });
});

test("a service's absolute id is replaced by the folder it was read from", () => {
  const info = { '@context': 'http://iiif.io/api/image/3/context.json', id: 'https://example.org/c/iiif/a-1', '@id': 'x', width: 10, height: 5 };
  const s = localService(info, 'iiif/a-1/info.json');
  assert.equal(s.id, 'iiif/a-1');
  assert.equal(s['@id'], undefined);
  assert.equal(info.id, 'https://example.org/c/iiif/a-1');  // the original is left alone
  assert.throws(() => localService({ id: 'x' }, 'iiif/b/info.json'), /not an image service/);
  assert.throws(() => localService(null, 'iiif/b/info.json'), /not an image service/);
});

test('only a relative info.json of the site is opened', () => {
  assert.equal(serviceUrl({ image: { info: 'iiif/a-1/info.json' } }), 'iiif/a-1/info.json');
  for (const info of ['https://evil.example/info.json', '//evil.example/info.json', 'javascript:alert(1)//info.json', 'iiif/a/x.json', 42]) {
    assert.equal(serviceUrl({ image: { info } }), null, String(info));
  }
  assert.equal(serviceUrl({ image: null }), null);
  assert.equal(serviceUrl(null), null);
});

test('the Manifest address is the base URL plus its path, and nothing else', () => {
  const coll = { raw: { iiif: { base_url: 'https://example.org/salon/' } } };
  assert.equal(manifestAddress(coll, 'iiif/a-1/manifest.json'), 'https://example.org/salon/iiif/a-1/manifest.json');
  assert.equal(manifestAddress(coll, 'https://evil.example/m.json'), null);
  assert.equal(manifestAddress(coll, '../m.json'), null);
  assert.equal(manifestAddress({ raw: { iiif: { base_url: 'javascript:x' } } }, 'iiif/a/manifest.json'), null);
  assert.equal(manifestAddress({ raw: {} }, 'iiif/a/manifest.json'), null);
});

test('the full view belongs to the open item: in the state, the hash and back', () => {
  const app = new App(tinyColl());
  const ev = [];
  app.addEventListener('change', (e) => ev.push(e.detail.what));
  app.setFull(true);
  assert.equal(app.full, false);  // nothing open
  app.open(2);
  app.setFull(true);
  assert.equal(app.full, true);
  assert.deepEqual(ev, ['item', 'full']);
  assert.equal(toHash(app.snapshot()), '#item=2&full=1');
  app.open(3);  // another item: the collection again
  assert.equal(app.full, false);
  app.setFull(true);
  app.close();
  assert.equal(app.full, false);
  app.apply(parseHash('#item=4&full=1'));
  assert.equal(app.item, 4);
  assert.equal(app.full, true);
  assert.equal(parseHash('#full=1').full, false);  // without an item it means nothing
  assert.equal(parseHash('#item=1&full=yes').full, false);
});

test('placeRect: fill covers the cell and clips to the part the cell shows, contain letterboxes', () => {
  const r = { x: 0, y: 0, w: 1, h: 1 };
  assert.deepEqual(placeRect(r, 2000, 1000, 'contain'), containRect(r, 2000, 1000));
  const f = placeRect(r, 2000, 1000, 'fill');
  assert.deepEqual({ x: f.x, y: f.y, w: f.w, h: f.h }, { x: -0.5, y: 0, w: 2, h: 1 });
  assert.deepEqual(f.clip, { x: 500, y: 0, w: 1000, h: 1000 });  // the centre square, as libvips crops it
});
