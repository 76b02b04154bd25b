// The hostile-input walk (issue 19): every operation of docs/openapi.yaml,
// against a whole stack started as a user starts it (scripts/run.sh, via
// tests/portal/stack.mjs), with mutated input: wrong types, missing and
// unknown fields, long and multi-byte strings, invalid UTF-8, NUL, huge and
// non-finite numbers, bad ids, SQL- and path-shaped strings, deep nesting,
// wrong content types and oversize bodies, in the body, the path and the
// query. Every answer must be below 500; every error must be JSON of the
// spec's Error shape; every 400 must name its field (a property or
// parameter of the operation, or the body, path or header at fault).
// The figures go to stdout as "# hostile: ..." (scripts/test.sh prints it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startStack, root } from '../portal/stack.mjs';

const spec = parse(readFileSync(join(root, 'docs/openapi.yaml'), 'utf8'));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function deref(o) {
  for (let i = 0; o && o.$ref && i < 20; i++) {
    o = o.$ref.replace(/^#\//, '').split('/').reduce((a, p) => (a ? a[p] : undefined), spec);
  }
  return o;
}

function operations() {
  const out = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const op = item[m];
      const params = [...(item.parameters || []), ...(op.parameters || [])].map(deref);
      const content = op.requestBody ? deref(op.requestBody).content || {} : {};
      const json = content['application/json'] ? deref(content['application/json'].schema) : null;
      out.push({
        method: m.toUpperCase(), path, op, params, json,
        binary: !json && Object.keys(content).length > 0 ? Object.keys(content)[0] : null,
        public: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return out;
}

// every property name of a schema, at any depth (for "names its field")
function names(schema, acc = new Set(), depth = 0) {
  schema = deref(schema);
  if (!schema || depth > 8) return acc;
  for (const [k, v] of Object.entries(schema.properties || {})) {
    acc.add(k);
    names(v, acc, depth + 1);
  }
  if (schema.items) names(schema.items, acc, depth + 1);
  for (const s of [...(schema.allOf || []), ...(schema.oneOf || []), ...(schema.anyOf || [])]) {
    names(s, acc, depth + 1);
  }
  if (typeof schema.additionalProperties === 'object') names(schema.additionalProperties, acc, depth + 1);
  return acc;
}

let uniq = 0;
// a plausible value for a property (the base request is valid where it can be)
function sample(name, schema, ids) {
  schema = deref(schema) || {};
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  if (ids[name] !== undefined) return ids[name];
  if (schema.format === 'email' || name === 'email') return `hostile${process.pid}x${uniq++}@example.com`;
  if (type === 'integer' || type === 'number') return schema.minimum !== undefined ? Math.max(schema.minimum, 1) : 1;
  if (type === 'boolean') return false;
  if (type === 'array') return [];
  if (type === 'object') return {};
  if (name === 'password' || name === 'newPassword') return 'Hostile-pass-1';
  if (name === 'version') return `1.0.${uniq++}`;
  return `h${uniq++}`;
}

function baseBody(schema, ids) {
  schema = deref(schema) || {};
  const out = {};
  for (const k of schema.required || []) out[k] = sample(k, (schema.properties || {})[k], ids);
  return out;
}

const RAW = '"__hostile_raw__"';
function withRaw(base, field, raw) {
  return Buffer.from(JSON.stringify({ ...base, [field]: '__hostile_raw__' }).replace(RAW, raw));
}

// mutations of one body field: [label, body bytes]
function fieldMutations(base, field, schema) {
  schema = deref(schema) || {};
  const max = schema.maxLength || 200;
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const m = [
    ['wrong type: number', { ...base, [field]: 12345 }],
    ['wrong type: string', { ...base, [field]: 'not the type' }],
    ['wrong type: object', { ...base, [field]: { a: 1 } }],
    ['wrong type: array', { ...base, [field]: [1, 'a'] }],
    ['wrong type: bool', { ...base, [field]: true }],
    ['null', { ...base, [field]: null }],
    ['long string', { ...base, [field]: 'x'.repeat(max + 1) }],
    ['multi-byte string', { ...base, [field]: '\u00e9'.repeat(max + 1) }],
    ['emoji string', { ...base, [field]: '\u{1F600}'.repeat(Math.min(max, 50)) }],
    ['NUL escaped', { ...base, [field]: 'a\u0000b' }],
    ['SQL-shaped', { ...base, [field]: "' OR 1=1; DROP TABLE users; --" }],
    ['path-shaped', { ...base, [field]: '../../../../etc/passwd' }],
    ['bad id', { ...base, [field]: '00000000-0000-0000-0000-00000000000G' }],
    ['id in capitals of nothing', { ...base, [field]: 'ABCDEF01-2345-4789-ABCD-EF0123456789' }],
    ['empty string', { ...base, [field]: '' }],
    ['negative', { ...base, [field]: -9007199254740991 }],
  ].map(([l, b]) => [l, Buffer.from(JSON.stringify(b))]);
  m.push(['huge integer', withRaw(base, field, '18446744073709551616')]);
  m.push(['1e309', withRaw(base, field, '1e309')]);
  m.push(['NaN', withRaw(base, field, 'NaN')]);
  m.push(['Infinity', withRaw(base, field, '-Infinity')]);
  m.push(['deep nesting', withRaw(base, field, deep)]);
  m.push(['invalid UTF-8', Buffer.concat([withRaw(base, field, '"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"')])
    .subarray(0)]);
  m.push(['raw NUL', Buffer.concat([Buffer.from(JSON.stringify({ ...base, [field]: 'a' }).slice(0, -2)), Buffer.from([0]), Buffer.from('"}')])]);
  m.push(['lone surrogate', withRaw(base, field, '"\\ud800"')]);
  const missing = { ...base };
  delete missing[field];
  m.push(['missing', Buffer.from(JSON.stringify(missing))]);
  return m;
}

function wholeBodyMutations(base) {
  return [
    ['unknown field', Buffer.from(JSON.stringify({ ...base, hostileUnknown: 'x' }))],
    ['not an object', Buffer.from('[1,2,3]')],
    ['a string', Buffer.from('"x"')],
    ['empty body', Buffer.alloc(0)],
    ['truncated', Buffer.from(JSON.stringify(base).slice(0, -1) || '{')],
    ['duplicate keys', Buffer.from('{"a":1,"a":2}')],
    ['deep nesting', Buffer.from('{"a":' + '['.repeat(100000) + ']'.repeat(100000) + '}')],
    ['oversize', Buffer.alloc(2 * 1024 * 1024 + 10, 0x20)],
  ];
}

const BAD_IDS = [
  'not-a-uuid', 'ABCDEF01-2345-4789-ABCD-EF0123456789', '%00', 'a%2Fb', '..', '%2e%2e',
  "1'%20OR%20'1'='1", 'x'.repeat(3000), '%C3%A9', '%FF', '00000000-0000-0000-0000-000000000000',
];
const BAD_QUERY = ['-1', '0', '99999999999999999999', 'abc', '%00', '%FF%FE', "'%20OR%201=1", 'x'.repeat(3000), '1e309', 'NaN'];

test('hostile input over every operation of docs/openapi.yaml', { timeout: 600000 }, async (t) => {
  const stack = await startStack();
  t.after(() => stack.stop());
  const stats = { requests: 0, ops: new Set(), byStatus: {}, failures: [] };

  // An oversize body is answered (413) from its headers, before it is
  // read, and the connection closed: a client that keeps writing gets a
  // reset that may drop the answer (fetch and node:http both lose it). So
  // the headers go first, and the body only if no answer came.
  function sendEarly(method, path, h, body) {
    return new Promise((resolve) => {
      const u = new URL(stack.url + path);
      const sock = connect(Number(u.port), u.hostname);
      let data = Buffer.alloc(0);
      const head = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close',
        `Content-Length: ${body.length}`, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      const done = () => {
        const text = data.toString('utf8');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        const i = text.indexOf('\r\n\r\n');
        const bodyText = i >= 0 ? text.slice(i + 4) : '';
        const type = (/\r\ncontent-type: *([^\r]*)/i.exec(text) || [])[1] || '';
        let json = null;
        try { json = JSON.parse(bodyText); } catch { /* not JSON */ }
        resolve({ status: m ? Number(m[1]) : 0, text: m ? bodyText : text, json, type });
      };
      sock.on('data', (d) => (data = Buffer.concat([data, d])));
      sock.on('error', () => {});
      sock.on('close', done);
      sock.write(head);
      setTimeout(() => { if (data.length === 0) sock.write(body, () => {}); }, 1000);
      setTimeout(() => sock.destroy(), 15000);
    });
  }

  async function send(method, path, { token, body, type, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = type || 'application/json';
    if (body !== undefined && body.length > 1024 * 1024) return sendEarly(method, path, h, body);
    let res;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await fetch(stack.url + path, { method, headers: h, body });
        break;
      } catch (e) {
        // a connection the gateway closed (an oversize body is answered
        // before it is read): one more try, then it counts as no answer
        if (attempt === 1) return { status: 0, text: String(e), json: null, type: '' };
      }
    }
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, text, json, type: res.headers.get('content-type') || '' };
  }
  async function api(method, path, token, body) {
    const r = await send(method, path, { token, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.ok(r.status < 300, `seeding ${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  // ---- seeding: one of everything, so that mutations reach the handlers
  const login = async (email, password) => (await api('POST', '/v1/auth/login', null, { email, password })).accessToken;
  const admin = await login(stack.admin.email, stack.admin.password);
  const product = await api('POST', '/v1/products', admin, { name: 'hostile product' });
  const org = await api('POST', '/v1/organizations', admin, { name: 'hostile org' });
  const license = await api('POST', '/v1/licenses', admin, { productId: product.id, allowedActivations: 50 });
  const orgLicense = await api('POST', '/v1/licenses', admin, { productId: product.id, organizationId: org.id });
  const pw = 'Hostile-pass-1';
  await api('POST', '/v1/users', admin, { email: 'hostile-oa@example.com', password: pw, role: 'organization-admin', organizationId: org.id });
  const victim = await api('POST', '/v1/users', admin, { email: 'hostile-victim@example.com', password: pw });
  const orgAdmin = await login('hostile-oa@example.com', pw);
  const orgUser = await api('POST', '/v1/organization/users', orgAdmin, { email: 'hostile-ou@example.com', password: pw });
  const group = await api('POST', '/v1/organization/user-groups', orgAdmin, { name: 'hostile group' });
  const pat = await api('POST', '/v1/personal-access-tokens', admin, { name: 'hostile pat' });
  const act = await api('POST', '/v1/activations', null, {
    key: license.key, productId: product.id, fingerprint: 'hostile-fp', hostname: 'h', os: 'linux',
  });
  const release = await api('POST', '/v1/releases', admin, { productId: product.id, name: 'r', version: '1.0.0', platform: 'linux' });
  const file = (await send('POST', `/v1/releases/${release.id}/files?name=a.bin`, { token: admin, body: Buffer.from('hello'), type: 'application/octet-stream' })).json;
  const dl = file ? (await send('POST', `/v1/releases/${release.id}/files/${file.id}/download-url`, { token: admin })).json : null;
  const activationId = act.activationId || (act.activation && act.activation.id);
  const fileId = file ? file.id || (file.file && file.file.id) : '00000000-0000-4000-8000-000000000000';
  const token = dl && dl.url ? dl.url.split('/').pop() : 'x';

  const bodyIds = {
    productId: product.id, licenseId: license.id, organizationId: org.id, userId: victim.id,
    key: license.key, activationId, fingerprint: 'hostile-fp',
  };
  function pathFor(path) {
    const pick = (seg, param) => {
      if (param === 'userId') return orgUser.id;
      if (param === 'licenseId') return orgLicense.id;
      if (param === 'activationId') return activationId;
      if (param === 'fileId') return fileId;
      if (param === 'token') return token;
      if (seg === 'personal-access-tokens') return pat.id;
      if (seg === 'users') return path.startsWith('/v1/organization/') ? orgUser.id : victim.id;
      if (seg === 'organizations') return org.id;
      if (seg === 'user-groups') return group.id;
      if (seg === 'licenses') return license.id;
      if (seg === 'activations') return activationId;
      if (seg === 'releases') return release.id;
      if (seg === 'products') return product.id;
      return '00000000-0000-4000-8000-000000000000';
    };
    const parts = path.split('/');
    return (bad) => parts.map((p, i) => {
      const m = /^\{(.+)\}$/.exec(p);
      if (!m) return p;
      return bad && bad.param === m[1] ? bad.value : pick(parts[i - 1], m[1]);
    }).join('/');
  }

  function check(o, label, r, fields) {
    stats.requests++;
    stats.byStatus[r.status] = (stats.byStatus[r.status] || 0) + 1;
    const where = `${o.method} ${o.path} [${label}] -> ${r.status} ${r.text.slice(0, 200)}`;
    if (r.status === 0 || r.status >= 500) {
      stats.failures.push(`no answer or 5xx: ${where}`);
      return;
    }
    if (r.status < 400) return;
    const e = r.json && r.json.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || !/json/.test(r.type)) {
      stats.failures.push(`error not in the spec's shape: ${where}`);
      return;
    }
    if (r.status === 400) {
      // a binary body is named by its resource (".../logo", ".../files")
      const resource = o.binary ? o.path.split('/').filter((x) => !x.startsWith('{')).pop() : 'body';
      const words = [...fields, resource, 'body', 'path', 'file', 'Content-Type', 'Content-Length', 'Host'];
      const named = words.some((w) => new RegExp(`(^|[^A-Za-z])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z]|$)`).test(e.message));
      if (!named) stats.failures.push(`400 without its field: ${where}`);
    }
  }

  // the order: reads and writes first, deletions then, sessions last (a
  // logout or a password change would end the tokens the others use)
  const rank = (o) => (/\/auth\/|\/me\/password/.test(o.path) ? 2 : o.method === 'DELETE' ? 1 : 0);
  const ops = operations().sort((a, b) => rank(a) - rank(b));
  for (const o of ops) {
    const tokenFor = o.public ? null : o.path.startsWith('/v1/organization/') || o.path === '/v1/organization' ? orgAdmin : admin;
    const fields = new Set([...names(o.json), ...o.params.map((p) => p.name)]);
    const path = pathFor(o.path);
    const base = o.json ? baseBody(o.json, bodyIds) : null;
    const queryParams = o.params.filter((p) => p.in === 'query');
    const baseQuery = queryParams.filter((p) => p.required).map((p) => `${p.name}=${p.name === 'name' ? 'h.bin' : 'x'}`);
    const q = (extra) => {
      const all = [...baseQuery, ...(extra ? [extra] : [])];
      return all.length ? `?${all.join('&')}` : '';
    };
    const jobs = [];
    const run = (label, p, opts) => jobs.push(async () => check(o, label, await send(o.method, p, { token: tokenFor, ...opts }), fields));
    const bodyOpts = (b) => (o.json ? { body: b } : o.binary ? { body: b, type: o.binary } : {});

    if (o.json) {
      const props = deref(o.json).properties || {};
      for (const [f, s] of Object.entries(props)) {
        for (const [label, b] of fieldMutations(base, f, s)) run(`${f}: ${label}`, path() + q(), { body: b });
      }
      for (const [label, b] of wholeBodyMutations(base)) run(label, path() + q(), { body: b });
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        run(`Content-Type ${ct}`, path() + q(), { body: Buffer.from(JSON.stringify(base)), type: ct });
      }
    } else if (o.binary) {
      run('empty body', path() + q(), { body: Buffer.alloc(0), type: o.binary });
      run('oversize', path() + q(), { body: Buffer.alloc(2 * 1024 * 1024, 0x41), type: o.binary });
      run('garbage', path() + q(), { body: Buffer.from([0xff, 0, 0xfe, 0x3c]), type: o.binary });
      run('wrong type', path() + q(), { body: Buffer.from('{}'), type: 'text/plain' });
    } else if (o.method !== 'GET') {
      run('unexpected body', path() + q(), { body: Buffer.from('{"x":1}') });
    }
    for (const p of o.params.filter((x) => x.in === 'path')) {
      for (const v of BAD_IDS) run(`path ${p.name}=${v.slice(0, 20)}`, path({ param: p.name, value: v }) + q(), bodyOpts(o.json ? Buffer.from(JSON.stringify(base)) : undefined));
    }
    for (const p of queryParams) {
      for (const v of BAD_QUERY) {
        const others = baseQuery.filter((s) => !s.startsWith(`${p.name}=`));
        const qs = `?${[...others, `${p.name}=${v}`].join('&')}`;
        run(`query ${p.name}=${v.slice(0, 20)}`, path() + qs, bodyOpts(o.json ? Buffer.from(JSON.stringify(base)) : undefined));
      }
    }
    run('unknown query', path() + q('hostileUnknown=%00'), bodyOpts(o.json ? Buffer.from(JSON.stringify(base)) : undefined));
    // four at a time: the gateway has threads, the machine two cores
    for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map((j) => j()));
    stats.ops.add(`${o.method} ${o.path}`);
  }

  // every process is still the one that started (no crash, no restart)
  const health = await send('GET', '/readyz');
  console.log(`# hostile: ${stats.requests} requests over ${stats.ops.size} of ${ops.length} operations; ` +
    `statuses ${JSON.stringify(stats.byStatus)}; ${stats.failures.length} failures`);
  assert.equal(health.status, 200, 'the stack is not ready after the walk');
  assert.equal(stats.ops.size, ops.length);
  assert.deepEqual(stats.failures.slice(0, 40), [], `${stats.failures.length} failures`);

  // the logs the walk left are the operator's only (defect 9)
  const logs = join(stack.dir, 'var', 'logs');
  assert.equal(statSync(logs).mode & 0o777, 0o700, 'logs/ mode');
  for (const f of readdirSync(logs)) {
    assert.equal(statSync(join(logs, f)).mode & 0o777, 0o600, `logs/${f} mode`);
  }
});
