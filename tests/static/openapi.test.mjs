// docs/openapi.yaml stays true to the code: every gateway route is
// documented and every documented operation is a route, public routes are
// documented without security, every /v1 operation declares its 4xx with
// the shared Error response, and every response carries X-Request-Id.
import test from 'node:test';
import assert from 'node:assert/strict';
import { read, yamlFile, gatewayRoutes } from './lib.mjs';

const spec = yamlFile('docs/openapi.yaml');
const routes = gatewayRoutes();
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const key = (method, path) => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`;

function operations() {
  const out = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) if (item[m]) out.push({ path, method: m, op: item[m], item });
  }
  return out;
}

function deref(obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; i++) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((a, p) => (a ? a[p.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec);
  }
  return o;
}

test('the gateway has routes to compare (parser sanity)', () => {
  assert.ok(routes.length >= 3, `found ${routes.length} routes in gateway/routes_*.c`);
  assert.ok(routes.some((r) => r.method === 'GET' && r.pattern === '/healthz'));
});

test('every gateway route is in docs/openapi.yaml', () => {
  const documented = new Set(operations().map((o) => key(o.method, o.path)));
  const missing = routes.filter((r) => !documented.has(key(r.method, r.pattern)))
    .map((r) => `${r.method} ${r.pattern} (${r.file})`);
  assert.deepEqual(missing, [], 'routes missing from docs/openapi.yaml');
});

test('every documented operation is a gateway route', () => {
  const served = new Set(routes.map((r) => key(r.method, r.pattern)));
  const extra = operations().filter((o) => !served.has(key(o.method, o.path)))
    .map((o) => `${o.method.toUpperCase()} ${o.path}`);
  assert.deepEqual(extra, [], 'documented but no gw_route serves it');
});

test('path parameter names match the C patterns', () => {
  const byKey = new Map(operations().map((o) => [key(o.method, o.path), o.path]));
  const bad = [];
  for (const r of routes) {
    const p = byKey.get(key(r.method, r.pattern));
    if (p && p !== r.pattern) bad.push(`${r.method} ${r.pattern} vs ${p}`);
  }
  assert.deepEqual(bad, []);
});

test('public routes are documented with security: [] and others are not', () => {
  const access = new Map(routes.map((r) => [key(r.method, r.pattern), r.access]));
  const bad = [];
  for (const o of operations()) {
    const a = access.get(key(o.method, o.path));
    if (!a) continue;
    const sec = o.op.security ?? spec.security ?? [];
    const open = sec.length === 0 || sec.some((s) => Object.keys(s).length === 0);
    if (a === 'GW_PUBLIC' && !open) bad.push(`${o.method.toUpperCase()} ${o.path}: public route requires auth in the spec`);
    if (a !== 'GW_PUBLIC' && open) bad.push(`${o.method.toUpperCase()} ${o.path}: ${a} route documented without security`);
  }
  assert.deepEqual(bad, []);
});

test('every /v1 operation declares 4xx responses with the Error response', () => {
  const bad = [];
  for (const o of operations()) {
    if (!o.path.startsWith('/v1/')) continue;
    const codes = Object.keys(o.op.responses || {});
    const fourxx = codes.filter((c) => /^4(\d\d|XX)$/.test(c));
    if (fourxx.length === 0) bad.push(`${o.method.toUpperCase()} ${o.path}: no 4xx response`);
    for (const c of fourxx) {
      const r = o.op.responses[c];
      const schema = deref(r)?.content?.['application/json']?.schema;
      if (r.$ref !== '#/components/responses/Error' && schema?.$ref !== '#/components/schemas/Error')
        bad.push(`${o.method.toUpperCase()} ${o.path} ${c}: not the Error response`);
    }
  }
  assert.deepEqual(bad, []);
});

test('every response declares the X-Request-Id header', () => {
  const bad = [];
  for (const o of operations()) {
    for (const [code, r] of Object.entries(o.op.responses || {})) {
      if (!deref(r)?.headers?.['X-Request-Id']) bad.push(`${o.method.toUpperCase()} ${o.path} ${code}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('operationIds are unique', () => {
  const ids = operations().map((o) => o.op.operationId);
  assert.equal(new Set(ids).size, ids.length);
});

test('the area marker lines are still in place', () => {
  const text = read('docs/openapi.yaml');
  for (const a of ['ops', 'auth', 'users', 'org', 'license', 'activation', 'release', 'portal'])
    assert.match(text, new RegExp(`^  # --- area: ${a} ---$`, 'm'), `area marker ${a}`);
  for (const a of ['auth', 'users', 'org', 'license', 'activation', 'release', 'portal'])
    assert.match(text, new RegExp(`^    # --- schemas: ${a} ---$`, 'm'), `schemas marker ${a}`);
});
