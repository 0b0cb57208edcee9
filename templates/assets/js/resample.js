// The pure arithmetic of search by image (no DOM, tested with node --test): libvips-like
// resampling of the visitor's image to the model's input, and the vectors' projection and scores.

// The build decodes with libvips' thumbnail (size "force"), which shrinks each axis by a whole
// factor with a box filter (leaving at least x2), reduces the rest with a Lanczos-3 kernel, and
// if any axis must grow, resamples both axes with a Catmull-Rom cubic displaced by half a pixel.
// Canvas scaling differs (feature cosine 0.97 on photos, measured), so we resample ourselves;
// this matches libvips to ~0.2 grey levels on average.

const lanczos3 = (x) => {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const p = Math.PI * x;
  return (3 * Math.sin(p) * Math.sin(p / 3)) / (p * p);
};
const catmullRom = (x) => {
  x = Math.abs(x);
  return x < 1 ? 1.5 * x ** 3 - 2.5 * x ** 2 + 1 : x < 2 ? -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2 : 0;
};

/** Per output position: input indices and weights (edges clamped, weights sum to 1). */
export function taps(inLen, outLen, upsize) {
  const scale = inLen / outLen;
  const kernel = upsize ? catmullRom : lanczos3;
  const support = upsize ? 2 : 3 * scale;
  const stretch = upsize ? 1 : scale;
  const out = [];
  for (let x = 0; x < outLen; x++) {
    const centre = upsize ? x * scale - 0.5 : (x + 0.5) * scale - 0.5;
    const lo = Math.floor(centre - support) + 1, hi = Math.ceil(centre + support) - 1;
    const idx = [], w = [];
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const k = kernel((i - centre) / stretch);
      if (k === 0) continue;
      idx.push(Math.min(inLen - 1, Math.max(0, i)));
      w.push(k);
      sum += k;
    }
    out.push({ idx, w: w.map((k) => k / sum) });
  }
  return out;
}

/** Resample a (w, h, 4) float image along one axis to n; values rounded like 8-bit stages. */
export function resampleAxis(src, w, h, n, horizontal, upsize = false) {
  const len = horizontal ? w : h;
  if (n === len && !upsize) return src;
  const t = taps(len, n, upsize);
  const ow = horizontal ? n : w, oh = horizontal ? h : n;
  const out = new Float32Array(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const { idx, w: wt } = t[horizontal ? x : y];
      let r = 0, g = 0, b = 0, a = 0;
      for (let k = 0; k < idx.length; k++) {
        const o = 4 * (horizontal ? y * w + idx[k] : idx[k] * w + x), f = wt[k];
        r += src[o] * f; g += src[o + 1] * f; b += src[o + 2] * f; a += src[o + 3] * f;
      }
      const o = 4 * (y * ow + x);
      out[o] = Math.round(r); out[o + 1] = Math.round(g); out[o + 2] = Math.round(b); out[o + 3] = Math.round(a);
    }
  }
  return out;
}

/** Box-average fx x fy blocks of 8-bit RGBA into premultiplied float RGBA (libvips' shrink). */
export function boxShrink(rgba, w, h, fx, fy) {
  const ow = Math.max(1, Math.round(w / fx)), oh = Math.max(1, Math.round(h / fy));
  const out = new Float32Array(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    const y0 = y * fy, y1 = Math.min(h, y0 + fy);
    for (let x = 0; x < ow; x++) {
      const x0 = x * fx, x1 = Math.min(w, x0 + fx);
      let r = 0, g = 0, b = 0, a = 0, n = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0, o = 4 * (yy * w + x0); xx < x1; xx++, o += 4) {
          const al = rgba[o + 3];
          r += rgba[o] * al; g += rgba[o + 1] * al; b += rgba[o + 2] * al; a += al; n++;
        }
      }
      const o = 4 * (y * ow + x), d = n || 1;
      out[o] = Math.round(r / 255 / d); out[o + 1] = Math.round(g / 255 / d); out[o + 2] = Math.round(b / 255 / d);
      out[o + 3] = Math.round(a / d);
    }
  }
  return [out, ow, oh];
}


// ---- vectors: PCA projection and scores against the int8 item vectors ----

export function project(eng, f) {
  const { d, k, mean, matrix } = eng;
  const centred = new Float32Array(d);
  for (let j = 0; j < d; j++) centred[j] = f[j] - mean[j];
  const v = new Float32Array(k);
  let norm = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    const row = c * d;
    for (let j = 0; j < d; j++) s += centred[j] * matrix[row + j];
    v[c] = s; norm += s * s;
  }
  norm = Math.sqrt(norm) || 1;
  for (let c = 0; c < k; c++) v[c] /= norm;
  return v;
}

export function scoreAll(eng, q) {
  const { n, k, codes, scales } = eng;
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * k;
    for (let c = 0; c < k; c++) s += codes[row + c] * q[c];
    scores[i] = s * scales[i];
  }
  return scores;
}

/**
 * RGBA bytes (w x h) to the model's size x size input, as libvips' thumbnail (size "force")
 * makes it: box shrink, then Lanczos-3 down or Catmull-Rom up. Returns premultiplied float RGBA.
 */
export function resize(rgba, w, h, size) {
  const fx = w > size ? Math.max(1, Math.floor(w / size / 2)) : 1;
  const fy = h > size ? Math.max(1, Math.floor(h / size / 2)) : 1;
  let [px, pw, ph] = boxShrink(rgba, w, h, fx, fy);
  if (ph > size) { px = resampleAxis(px, pw, ph, size, false); ph = size; }
  if (pw > size) { px = resampleAxis(px, pw, ph, size, true); pw = size; }
  if (pw < size || ph < size) {
    px = resampleAxis(px, pw, ph, size, false, true);
    px = resampleAxis(px, pw, size, size, true, true);
  }
  return px;
}

/** Premultiplied float RGBA flattened on the background bg [r, g, b]: {pixels: RGB floats, rgba: bytes to show}. */
export function flatten(px, bg) {
  const n = px.length / 4;
  const pixels = new Float32Array(n * 3);
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0, j = 0; i < px.length; i += 4, j += 3) {
    const keep = 1 - Math.min(255, Math.max(0, px[i + 3])) / 255;
    for (let ch = 0; ch < 3; ch++) {
      const v = Math.min(255, Math.max(0, Math.round(px[i + ch] + bg[ch] * keep)));
      pixels[j + ch] = v;
      rgba[i + ch] = v;
    }
    rgba[i + 3] = 255;
  }
  return { pixels, rgba };
}
