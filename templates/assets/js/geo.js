// The world outline under the places layout: Natural Earth land (npm world-atlas, TopoJSON),
// decoded by topojson-client and projected by d3-geo in the layout's own cell units, so the
// land lies exactly under the items (docs/site-format.md, "Places"). All three are in the site
// (assets/world/, vendored by pipeline/site.py) and loaded only when the layout is first shown.
// d3-geo cuts the shapes that cross the antimeridian, which a plain lon/lat plot would smear.

const WORLD = new URL('../world/', import.meta.url);

let loading = null;

/** d3-geo and the land as GeoJSON, loaded once. Resolves to {geo, land}; rejects if the files are missing. */
export function loadWorld() {
  if (!loading) {
    loading = Promise.all([
      import(new URL('d3-geo.js', WORLD).href),
      import(new URL('topojson-client/index.js', WORLD).href),
      fetch(new URL('land-110m.json', WORLD), { credentials: 'same-origin' }).then((r) => {
        if (!r.ok) throw new Error(`world outline: HTTP ${r.status}`);
        return r.json();
      }),
    ]).then(([geo, topo, t]) => ({ geo, land: topo.feature(t, t.objects.land) }));
    loading.catch(() => { loading = null; });
  }
  return loading;
}

/**
 * The outline as canvas paths in cell units of cellDeg degrees ((lon, lat) -> (lon / cellDeg,
 * -lat / cellDeg)): the globe's edge, a 10-degree graticule and the land.
 */
export function worldPaths({ geo, land }, cellDeg) {
  const scale = 180 / (Math.PI * cellDeg);
  // resample to about a tenth of a degree whatever the cell size (precision is in projected units)
  const projection = geo.geoEquirectangular().scale(scale).translate([0, 0]).precision(0.1 / cellDeg);
  const path = geo.geoPath(projection);
  return {
    sphere: new Path2D(path({ type: 'Sphere' })),
    graticule: new Path2D(path(geo.geoGraticule10())),
    land: new Path2D(path(land)),
  };
}

/**
 * Draw the outline. g: the layout's {scale, dx, dy} (cell units to viewport units: x * scale + dx);
 * view: {toPx, ppu} as in Viewer.draw.
 */
export function drawWorld(ctx, view, g, paths, dpr, alpha = 1) {
  if (alpha <= 0) return;
  const [ax, ay] = view.toPx(g.dx, g.dy);
  const k = g.scale * view.ppu;  // canvas px per cell
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.setTransform(k, 0, 0, k, ax, ay);
  ctx.fillStyle = '#0f1218';
  ctx.fill(paths.sphere);
  ctx.lineWidth = dpr / k;
  ctx.strokeStyle = 'rgba(140, 150, 170, 0.12)';
  ctx.stroke(paths.graticule);
  ctx.fillStyle = '#1f242d';
  ctx.fill(paths.land);
  ctx.strokeStyle = 'rgba(170, 180, 200, 0.35)';
  ctx.stroke(paths.land);
  ctx.restore();
}
