// Per-item arrays kept beside data/collection.json (docs/site-format.md, "Columns";
// pipeline/columns.py writes them): a reference {column, type, length[, scale]} stands where the
// array would be, so the first paint fetches only what it draws. Binary columns are little-endian
// typed arrays, read as they are (every browser's platform is little-endian).
export const TYPED = { int32: Int32Array, uint16: Uint16Array, float32: Float32Array };
export const FOLDER = 'data/columns';
const URL_RE = /^data\/columns\/[\w-]+\.(bin|json)$/;  // a reference is data: only files of FOLDER

export function isRef(v) {
  return !!v && typeof v === 'object' && typeof v.column === 'string' && (v.type === 'json' || Object.hasOwn(TYPED, v.type));
}

/**
 * One column's values: a typed array (a scaled one as fractions in a Float32Array) or its JSON.
 * base: the site's address, where the page's own is not (a worker's).
 */
export async function loadColumn(ref, base = undefined) {
  if (!isRef(ref) || !URL_RE.test(ref.column)) {
    throw new Error(`not a column: ${ref.column}`);
  }
  const res = await fetch(base ? new URL(ref.column, base) : ref.column, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${ref.column}: HTTP ${res.status}`);
  if (ref.type === 'json') return res.json();
  const raw = new TYPED[ref.type](await res.arrayBuffer());
  if (raw.length !== ref.length) throw new Error(`${ref.column}: ${raw.length} values, not ${ref.length}`);
  if (!ref.scale) return raw;
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] / ref.scale;
  return out;
}

/** Replace every column reference inside obj (not obj itself) by its values, all fetched at once. */
export async function resolveColumns(obj, base = undefined) {
  const found = [];
  const walk = (o) => {
    for (const [k, v] of Object.entries(o)) {
      if (isRef(v)) found.push([o, k, v]);
      else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) walk(v);
    }
  };
  walk(obj);
  await Promise.all(found.map(async ([o, k, ref]) => { o[k] = await loadColumn(ref, base); }));
  return obj;
}
