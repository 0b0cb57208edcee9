// See webgl_points.html. Not part of the site.
(function () {
  const n = Number(location.hash.slice(1)) || 10000;
  const canvas = document.getElementById('c');
  const gl = canvas.getContext('webgl', { antialias: false });
  if (!gl) { window.result = { n, error: 'no WebGL' }; return; }
  const vs = `attribute vec2 a; attribute vec2 b; attribute vec3 col; uniform float e; uniform float size;
    varying vec3 v; void main() { vec2 p = mix(a, b, e); gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
    gl_PointSize = size; v = col; }`;
  const fs = 'precision mediump float; varying vec3 v; void main() { gl_FragColor = vec4(v, 1.0); }';
  const shader = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; };
  const prog = gl.createProgram();
  gl.attachShader(prog, shader(gl.VERTEX_SHADER, vs));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(prog);
  gl.useProgram(prog);
  const attr = (name, data, size) => {
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, name);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0);
  };
  const rnd = (k) => Float32Array.from({ length: k }, () => Math.random());
  attr('a', rnd(2 * n), 2);
  attr('b', rnd(2 * n), 2);
  attr('col', rnd(3 * n), 3);
  const eLoc = gl.getUniformLocation(prog, 'e');
  gl.uniform1f(gl.getUniformLocation(prog, 'size'), Math.max(1, 0.85 * 800 / Math.sqrt(n)));
  const dbg = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  let frames = 0, start = 0;
  const frame = (now) => {
    if (!start) start = now;
    const t = Math.min(1, (now - start) / 600);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.uniform1f(eLoc, t);
    gl.drawArrays(gl.POINTS, 0, n);
    frames++;
    if (t < 1) requestAnimationFrame(frame);
    else {
      const ms = now - start;
      window.result = { n, frames, ms: Math.round(ms), fps: Math.round((1000 * frames) / ms * 10) / 10, renderer };
    }
  };
  requestAnimationFrame(frame);
})();
