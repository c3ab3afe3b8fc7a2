// Preloaded by `bench/footprint.bench.ts --modules` (node --expose-gc -r): the resident memory each package
// adds when wid-bot's own code first requires it (RSS after gc(), before and after, the package's own
// dependencies included), written as JSON to WID_REQUIRE_RSS_FILE when the process exits.
'use strict';
const Module = require('node:module');
const { writeFileSync } = require('node:fs');
const builtins = new Set(Module.builtinModules);
const original = Module.prototype.require;
const seen = new Set();
const added = [];
let depth = 0;
const gc = typeof global.gc === 'function' ? global.gc : () => {};
Module.prototype.require = function require(id) {
  const bare = !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('node:') && !builtins.has(id);
  const pkg = bare ? id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/') : undefined;
  if (!pkg || seen.has(pkg) || depth > 0 || String(this.filename).includes('/node_modules/')) return original.apply(this, arguments);
  seen.add(pkg);
  depth++;
  gc();
  const before = process.memoryUsage().rss;
  try {
    return original.apply(this, arguments);
  } finally {
    gc();
    added.push({ pkg, mb: Math.round(((process.memoryUsage().rss - before) / 1048576) * 10) / 10, from: String(this.filename).replace(/^.*\/dist\//, 'dist/') });
    depth--;
  }
};
process.on('exit', () => {
  if (process.env.WID_REQUIRE_RSS_FILE) writeFileSync(process.env.WID_REQUIRE_RSS_FILE, JSON.stringify(added.sort((a, b) => b.mb - a.mb)));
});
