// SPDX-License-Identifier: BSD-2-Clause
// Validates Kubernetes manifests offline against the API schemas shipped in
// npm's kubernetes-models (not a test by itself: test_deploy_manifests runs
// it). Usage: node test_deploy_lib.js FILE.yaml... (also --json FILE...,
// --kustomize DIR: below)
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

// A small kustomize for the overlays in deploy/overlays/ when no kubectl
// is there to build them: resources (files and directories with a
// kustomization.yaml) and strategic merge patches. The base's namespace,
// labels and images transformers are not applied (they touch no security
// setting); any other kustomization field is refused rather than ignored.
// test_deploy_manifests compares this with `kubectl kustomize` when it can.
const MERGE_KEYS = {
  containers: 'name', initContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', ports: 'containerPort',
};
const KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'namespace',
  'labels', 'images']);

function smp(dst, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) throw new Error('patch directive ' + k + ' not supported');
    const d = dst[k];
    if (Array.isArray(v) && Array.isArray(d) && MERGE_KEYS[k]) {
      const key = MERGE_KEYS[k];
      for (const item of v) {
        const at = d.findIndex((x) => x && x[key] === item[key]);
        if (at < 0) d.unshift(JSON.parse(JSON.stringify(item)));
        else smp(d[at], item);
      }
    } else if (v && typeof v === 'object' && !Array.isArray(v) && d && typeof d === 'object' &&
               !Array.isArray(d)) {
      smp(d, v);
    } else {
      dst[k] = JSON.parse(JSON.stringify(v));
    }
  }
}

function build(dir) {
  const k = yaml.load(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  for (const f of Object.keys(k))
    if (!KUSTOMIZE_FIELDS.has(f)) throw new Error(dir + ': kustomization field ' + f + ' not supported');
  const docs = [];
  for (const r of k.resources || []) {
    const p = path.join(dir, r);
    if (fs.statSync(p).isDirectory()) docs.push(...build(p));
    else for (const d of yaml.loadAll(fs.readFileSync(p, 'utf8'))) if (d) docs.push(d);
  }
  for (const pt of k.patches || []) {
    const patch = yaml.load(fs.readFileSync(path.join(dir, pt.path), 'utf8'));
    const t = pt.target || { kind: patch.kind, name: patch.metadata.name };
    const hits = docs.filter((d) => d.kind === t.kind && (!t.name || d.metadata.name === t.name));
    if (!hits.length) throw new Error(dir + ': patch ' + pt.path + ' matches nothing');
    const body = Object.assign({}, patch);
    delete body.apiVersion;
    delete body.kind;
    delete body.metadata;
    for (const d of hits) smp(d, body);
  }
  return docs;
}

if (process.argv[2] === '--kustomize') {
  // Prints the documents of a kustomization directory as one JSON array.
  try {
    console.log(JSON.stringify(build(process.argv[3])));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  process.exit(0);
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
