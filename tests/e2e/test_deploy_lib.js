// SPDX-License-Identifier: BSD-2-Clause
// Validates Kubernetes manifests offline against the API schemas shipped in
// npm's kubernetes-models (not a test by itself: test_deploy_manifests runs
// it). Usage: node test_deploy_lib.js FILE.yaml...
// Prints one JSON line per document {file, kind, name, ok, errors} and
// exits 1 when any document is invalid or unknown.
'use strict';
const fs = require('fs');
const path = require('path');
const mods = path.join(__dirname, '..', 'node_modules');
const yaml = require(path.join(mods, 'js-yaml'));

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const dir = group ? group : '';
  const file = path.join(mods, 'kubernetes-models', dir, version, kind + '.js');
  if (!fs.existsSync(file)) return null;
  return require(file)[kind];
}

if (process.argv[2] === '--json') {
  // Prints every document of the files as one JSON array, for assertions.
  const all = [];
  for (const f of process.argv.slice(3))
    for (const d of yaml.loadAll(fs.readFileSync(f, 'utf8'))) if (d) all.push(d);
  console.log(JSON.stringify(all));
  process.exit(0);
}

let bad = 0;
for (const f of process.argv.slice(2)) {
  const docs = yaml.loadAll(fs.readFileSync(f, 'utf8')).filter((d) => d);
  for (const d of docs) {
    const out = { file: path.basename(f), kind: d.kind, name: d.metadata && d.metadata.name };
    const M = d.apiVersion && d.kind ? modelFor(d.apiVersion, d.kind) : null;
    if (!M) {
      out.ok = false;
      out.errors = ['no schema for ' + d.apiVersion + ' ' + d.kind];
    } else {
      try {
        new M(d).validate();
        out.ok = true;
      } catch (e) {
        out.ok = false;
        out.errors = (e.errors || [e.message]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
      }
    }
    if (!out.ok) bad++;
    console.log(JSON.stringify(out));
  }
}
process.exit(bad ? 1 : 0);
