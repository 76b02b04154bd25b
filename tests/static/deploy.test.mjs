// compose.yaml, k8s/ and the Dockerfile agree with the code and with each
// other: only KEYPORT_* variables the tree knows, every service reachable at
// the address the others dial, health checks, non-root, valid Kubernetes
// objects (schemas of kubernetes-models, offline), selectors that select.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { read, yamlDocs, envVarsRead, sources } from './lib.mjs';

const SERVICES = ['auth', 'org', 'license', 'activation', 'release'];
const BINARIES = ['gateway', ...SERVICES].map((s) => `keyport-${s}`);

// Names the programs read (C sources) plus the ones the tree's launchers
// hand to them (scripts/run.sh, the test harness): a name outside this set
// in a deployment file is a typo or a stale variable.
function knownEnv() {
  const names = envVarsRead();
  for (const f of sources(['.sh', '.c'])) {
    if (!f.startsWith('scripts/') && !f.startsWith('tests/harness/')) continue;
    for (const m of read(f).matchAll(/\b(KEYPORT_[A-Z0-9_]+)/g)) if (!m[1].includes('__')) names.add(m[1]);
  }
  for (const n of ['KEYPORT_ROOT', 'KEYPORT_BIN_DIR']) names.delete(n); // launcher-only
  return names;
}
const KNOWN = knownEnv();

// Default service addresses from common/kp_services.def: {service: port}.
function defaultPorts() {
  const out = {};
  for (const m of read('common/kp_services.def').matchAll(/^KP_SERVICE\(\w+, "(\w+)", (\d+)\)/gm))
    out[m[1]] = Number(m[2]);
  return out;
}
const PORTS = defaultPorts();

const urlParts = (u) => {
  const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(u.trim());
  assert.ok(m, `not a tcp://host:port address: ${u}`);
  return { host: m[1], port: Number(m[2]) };
};

test('the code reads the variables the deployment relies on', () => {
  for (const n of ['KEYPORT_DATABASE_URL', 'KEYPORT_LISTEN_URL', 'KEYPORT_HTTP_PORT',
    'KEYPORT_AUTH_URL', 'KEYPORT_ACTIVATION_URL'])
    assert.ok(envVarsRead().has(n), `${n} not read by any C source`);
  assert.deepEqual(Object.keys(PORTS).sort(), [...SERVICES].sort());
});

test('docs/deploy.md documents every KEYPORT_* variable the programs read', () => {
  const doc = read('docs/deploy.md');
  for (const n of envVarsRead()) assert.ok(doc.includes(`\`${n}\``), `${n} is read by the code but not documented in docs/deploy.md`);
  assert.ok(envVarsRead().has('KEYPORT_LEASE_SWEEP_MS'), 'the activation service reads KEYPORT_LEASE_SWEEP_MS');
});

// ---- compose ------------------------------------------------------------
const compose = parse(read('compose.yaml'), { merge: true });
const cs = compose.services;
const svcOf = (c) => (Array.isArray(c.command) ? c.command[0] : String(c.command || '').split(' ')[0]).replace(/^keyport-/, '');

test('compose: postgres 15 with a health check and a volume', () => {
  const pg = cs.postgres;
  assert.match(pg.image, /^postgres:15/);
  assert.ok(pg.healthcheck?.test?.join(' ').includes('pg_isready'));
  assert.ok(pg.volumes?.some((v) => v.startsWith('pgdata:')));
  assert.ok('pgdata' in compose.volumes);
});

test('compose: every Keyport service has image, build, command and health check', () => {
  for (const [name, c] of Object.entries(cs)) {
    if (name === 'postgres') continue;
    assert.ok(c.image && c.build, `${name}: image and build`);
    assert.ok(BINARIES.includes(`keyport-${svcOf(c)}`), `${name}: command ${c.command}`);
    const hc = c.healthcheck?.test?.join(' ') || '';
    if (svcOf(c) === 'gateway') assert.match(hc, /curl .*\/readyz/, `${name}: health check`);
    else assert.equal(hc, `CMD keyport-${svcOf(c)} --check`, `${name}: health check`);
    for (const d of Object.keys(c.depends_on || {})) assert.ok(cs[d], `${name} depends on unknown ${d}`);
    for (const v of c.volumes || []) assert.ok(v.split(':')[0] in compose.volumes, `${name}: volume ${v}`);
  }
  const present = new Set(Object.values(cs).map(svcOf));
  for (const b of ['gateway', ...SERVICES]) assert.ok(present.has(b), `no compose service runs keyport-${b}`);
  assert.ok(Object.values(cs).filter((c) => svcOf(c) === 'activation').length >= 2, 'two activation replicas');
});

test('compose: only known KEYPORT_* variables, the database URL everywhere', () => {
  for (const [name, c] of Object.entries(cs)) {
    if (name === 'postgres') continue;
    const env = c.environment || {};
    assert.ok(!Array.isArray(env), `${name}: environment as a map`);
    for (const k of Object.keys(env)) if (k.startsWith('KEYPORT_')) assert.ok(KNOWN.has(k), `${name}: unknown ${k}`);
    assert.match(env.KEYPORT_DATABASE_URL, /@postgres:5432\//, `${name}: database URL`);
  }
});

test('compose: every address dialled is a listener of that service', () => {
  for (const [name, c] of Object.entries(cs)) {
    if (name === 'postgres') continue;
    const env = c.environment;
    for (const s of SERVICES) {
      const urls = String(env[`KEYPORT_${s.toUpperCase()}_URL`] || '').split(',').filter(Boolean);
      assert.ok(urls.length > 0, `${name}: KEYPORT_${s.toUpperCase()}_URL`);
      for (const u of urls) {
        const { host, port } = urlParts(u);
        const target = cs[host];
        assert.ok(target && svcOf(target) === s, `${name}: ${u} is not a ${s} service`);
        assert.equal(urlParts(target.environment.KEYPORT_LISTEN_URL).port, port, `${name}: ${u} port`);
      }
      // every replica of s is dialled
      for (const [other, oc] of Object.entries(cs))
        if (svcOf(oc) === s) assert.ok(urls.some((u) => urlParts(u).host === other), `${name}: does not dial ${other}`);
    }
  }
  const gw = cs.gateway;
  assert.ok(gw.ports.some((p) => String(p).endsWith(`:${gw.environment.KEYPORT_HTTP_PORT}`)), 'gateway port');
});

test('compose: auth and license keep KEYPORT_SECRET_DIR on a volume', () => {
  for (const s of ['auth', 'license']) {
    const c = cs[s];
    const dir = c.environment.KEYPORT_SECRET_DIR;
    assert.ok(dir, `${s}: KEYPORT_SECRET_DIR`);
    assert.ok(c.volumes.some((v) => dir.startsWith(v.split(':')[1])), `${s}: ${dir} on a volume`);
  }
  assert.ok('KEYPORT_ADMIN_PASSWORD' in cs.auth.environment && 'KEYPORT_ADMIN_EMAIL' in cs.auth.environment);
});

// ---- Kubernetes -----------------------------------------------------------
const docs = yamlDocs('k8s');
const of = (kind) => docs.filter((d) => d.obj.kind === kind).map((d) => d.obj);
const workloads = () => [...of('Deployment'), ...of('StatefulSet')];
const containers = (w) => w.spec.template.spec.containers;

test('k8s: every object is valid against the Kubernetes schema', async () => {
  assert.ok(docs.length >= 10);
  for (const { file, obj } of docs) {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
    const mod = await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`);
    const Model = mod[obj.kind];
    assert.ok(Model, `${file}: unknown kind ${obj.apiVersion} ${obj.kind}`);
    assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

test('k8s: one namespace, and every object in it', () => {
  assert.equal(of('Namespace').length, 1);
  const ns = of('Namespace')[0].metadata.name;
  for (const { file, obj } of docs) if (obj.kind !== 'Namespace') assert.equal(obj.metadata.namespace, ns, file);
});

test('k8s: selectors select, ports are named in the pods', () => {
  for (const w of workloads()) {
    const labels = w.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(w.spec.selector.matchLabels))
      assert.equal(labels[k], v, `${w.kind} ${w.metadata.name}: selector ${k}`);
  }
  for (const s of of('Service')) {
    const sel = Object.entries(s.spec.selector);
    const hit = workloads().filter((w) => sel.every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    assert.ok(hit.length > 0, `Service ${s.metadata.name} selects nothing`);
    for (const p of s.spec.ports) {
      const names = hit.flatMap((w) => containers(w).flatMap((c) => c.ports || []));
      assert.ok(names.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort),
        `Service ${s.metadata.name}: targetPort ${p.targetPort}`);
    }
  }
  for (const ss of of('StatefulSet'))
    assert.ok(of('Service').some((s) => s.metadata.name === ss.spec.serviceName && s.spec.clusterIP === 'None'),
      `StatefulSet ${ss.metadata.name}: headless Service ${ss.spec.serviceName}`);
});

test('k8s: probes, limits and non-root for every container', () => {
  for (const w of workloads()) {
    const pod = w.spec.template.spec;
    for (const c of containers(w)) {
      const id = `${w.metadata.name}/${c.name}`;
      assert.ok(c.readinessProbe && c.livenessProbe, `${id}: probes`);
      assert.ok(c.resources?.limits?.cpu && c.resources?.limits?.memory, `${id}: limits`);
      assert.ok(pod.securityContext?.runAsNonRoot === true || c.securityContext?.runAsNonRoot === true, `${id}: runAsNonRoot`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${id}: allowPrivilegeEscalation`);
      const bin = c.command?.[0];
      if (bin?.startsWith('keyport-')) {
        assert.ok(BINARIES.includes(bin), `${id}: ${bin}`);
        if (bin === 'keyport-gateway') {
          assert.equal(c.readinessProbe.httpGet?.path, '/readyz', `${id}: readiness`);
          assert.equal(c.livenessProbe.httpGet?.path, '/healthz', `${id}: liveness`);
        } else {
          assert.deepEqual(c.readinessProbe.exec?.command, [bin, '--check'], `${id}: readiness`);
        }
      }
    }
  }
});

test('k8s: env names known, references resolve', () => {
  const cms = Object.fromEntries(of('ConfigMap').map((m) => [m.metadata.name, m.data]));
  const secrets = Object.fromEntries(of('Secret').map((s) => [s.metadata.name, { ...s.data, ...s.stringData }]));
  const pvcs = new Set(of('PersistentVolumeClaim').map((p) => p.metadata.name));
  for (const m of Object.values(cms))
    for (const k of Object.keys(m)) if (k.startsWith('KEYPORT_')) assert.ok(KNOWN.has(k), `ConfigMap: unknown ${k}`);
  for (const w of workloads()) {
    for (const c of containers(w)) {
      const id = `${w.metadata.name}/${c.name}`;
      const names = new Set();
      for (const e of c.env || []) {
        names.add(e.name);
        if (e.name.startsWith('KEYPORT_')) assert.ok(KNOWN.has(e.name), `${id}: unknown ${e.name}`);
        const sk = e.valueFrom?.secretKeyRef;
        if (sk) assert.ok(secrets[sk.name] && sk.key in secrets[sk.name], `${id}: secret ${sk.name}/${sk.key}`);
      }
      for (const f of c.envFrom || []) {
        assert.ok(cms[f.configMapRef?.name], `${id}: ConfigMap ${f.configMapRef?.name}`);
        for (const k of Object.keys(cms[f.configMapRef.name])) names.add(k);
      }
      if (c.command?.[0]?.startsWith('keyport-')) {
        for (const s of SERVICES) assert.ok(names.has(`KEYPORT_${s.toUpperCase()}_URL`), `${id}: KEYPORT_${s.toUpperCase()}_URL`);
        if (c.command[0] !== 'keyport-gateway') {
          assert.ok(names.has('KEYPORT_DATABASE_URL') && names.has('KEYPORT_LISTEN_URL'), `${id}: database and listen URL`);
          const listen = c.env.find((e) => e.name === 'KEYPORT_LISTEN_URL').value;
          const port = urlParts(listen).port;
          assert.ok(c.ports.some((p) => p.containerPort === port), `${id}: listens on ${port} but exposes it not`);
          assert.equal(port, PORTS[c.command[0].slice(8)], `${id}: port differs from kp_services.def default`);
        }
      }
    }
    const vols = new Set([...(w.spec.template.spec.volumes || []).map((v) => v.name),
      ...(w.spec.volumeClaimTemplates || []).map((t) => t.metadata.name)]);
    for (const c of containers(w))
      for (const m of c.volumeMounts || []) assert.ok(vols.has(m.name), `${w.metadata.name}/${c.name}: volume ${m.name}`);
    if (containers(w).some((c) => c.securityContext?.readOnlyRootFilesystem))
      assert.ok(containers(w).every((c) => (c.volumeMounts || []).some((m) => m.mountPath === '/tmp')), `${w.metadata.name}: writable /tmp`);
    for (const v of w.spec.template.spec.volumes || [])
      if (v.persistentVolumeClaim) assert.ok(pvcs.has(v.persistentVolumeClaim.claimName), `${w.metadata.name}: PVC ${v.persistentVolumeClaim.claimName}`);
  }
});

test('k8s: every service address in the ConfigMap reaches a pod of that service', () => {
  const cm = of('ConfigMap').find((m) => m.metadata.name === 'keyport-config').data;
  const ns = of('Namespace')[0].metadata.name;
  for (const s of SERVICES) {
    const urls = cm[`KEYPORT_${s.toUpperCase()}_URL`].split(',');
    const pods = new Set();
    for (const u of urls) {
      const { host, port } = urlParts(u);
      const labels = host.split('.');
      assert.ok(host.endsWith(`.${ns}.svc.cluster.local`) || labels.length <= 3, `${u}: namespace`);
      // service.ns... or pod-N.service.ns... (StatefulSet pod DNS)
      const svc = of('Service').find((x) => x.metadata.name === labels[0] || x.metadata.name === labels[1]);
      assert.ok(svc, `${u}: no Service`);
      assert.ok(svc.spec.ports.some((p) => p.port === port), `${u}: Service ${svc.metadata.name} has no port ${port}`);
      const w = workloads().find((x) => x.spec.template.metadata.labels['app.kubernetes.io/name'] === svc.spec.selector['app.kubernetes.io/name']);
      assert.equal(w.spec.template.spec.containers[0].command[0], `keyport-${s}`, `${u}: runs keyport-${s}`);
      if (svc.metadata.name === labels[1]) {
        assert.equal(w.kind, 'StatefulSet', `${u}: per-pod name needs a StatefulSet`);
        const idx = Number(labels[0].slice(w.metadata.name.length + 1));
        assert.ok(labels[0].startsWith(`${w.metadata.name}-`) && idx < w.spec.replicas, `${u}: pod index`);
        pods.add(idx);
      }
    }
    const w = workloads().find((x) => containers(x)[0].command?.[0] === `keyport-${s}`);
    if (w.kind === 'StatefulSet') assert.equal(pods.size, w.spec.replicas, `${s}: every replica dialled`);
  }
  const act = workloads().find((x) => x.metadata.name === 'activation');
  assert.equal(act.spec.replicas, 2);
});

// ---- Dockerfile ------------------------------------------------------------
test('Dockerfile: Debian 12 build stage, runtime without -dev, non-root', () => {
  const df = read('Dockerfile');
  const stages = df.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2);
  assert.match(stages[0], /^debian:12/);
  assert.match(stages[0], /make .*build/);
  assert.match(stages[1], /^debian:12/);
  for (const lib of ['libnng1', 'libprotobuf-c1', 'libpq5', 'libmicrohttpd12', 'libjansson4', 'libsodium23', 'libcurl4'])
    assert.match(stages[1], new RegExp(`\\b${lib}\\b`), lib);
  assert.doesNotMatch(stages[1], /-dev\b|build-essential/);
  assert.match(stages[1], /COPY --from=build/);
  assert.match(stages[1], /^USER 10001/m);
  const ign = read('.dockerignore');
  for (const p of ['build', 'node_modules', '.git']) assert.match(ign, new RegExp(`^${p.replace('.', '\\.')}$`, 'm'));
});

// ---- bench scenarios ----------------------------------------------------------
test('bench: scenarios are bash scripts that parse', async () => {
  const { readdirSync, statSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { root } = await import('./lib.mjs');
  const dir = join(root, 'bench', 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sh'));
  assert.ok(files.includes('healthz.sh'));
  for (const f of files) {
    assert.ok(statSync(join(dir, f)).mode & 0o100, `${f}: executable`);
    execFileSync('bash', ['-n', join(dir, f)]);
  }
});

// The runtime stage must carry every shared library the binaries link
// directly (readelf NEEDED -> dpkg -S). Needs the binaries: `make test` builds
// them before the lint; `make lint` on a clean tree skips this one.
test('Dockerfile: runtime packages cover the binaries\' shared libraries', async (t) => {
  const { existsSync, readdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { root } = await import('./lib.mjs');
  const bin = join(root, process.env.BUILD || 'build', 'bin');
  if (!existsSync(bin) || readdirSync(bin).length === 0) {
    t.skip('no build/bin (run make build)');
    return;
  }
  const runtime = read('Dockerfile').split(/^FROM /m)[2];
  const libc = new Set(['libc6', 'libgcc-s1']);
  const missing = [];
  const owners = new Map();
  // the Debian package owning a library; with merged /usr, dpkg may know
  // it under /lib rather than /usr/lib
  const owner = (path) => {
    if (!owners.has(path)) {
      const real = execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
      let pkg;
      for (const p of [real, real.replace(/^\/usr\/lib\//, '/lib/'), path]) {
        try {
          pkg = execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
          break;
        } catch { /* try the next spelling */ }
      }
      assert.ok(pkg, `no Debian package owns ${real}`);
      owners.set(path, pkg);
    }
    return owners.get(path);
  };
  for (const f of readdirSync(bin)) {
    const needed = [...execFileSync('readelf', ['-d', join(bin, f)], { encoding: 'utf8' })
      .matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    const ldd = execFileSync('ldd', [join(bin, f)], { encoding: 'utf8' });
    for (const so of needed) {
      // sanitizer runtimes: only `make SAN=1` builds link them, and those
      // never go into the image
      if (/^lib(asan|ubsan|lsan|tsan)\.so/.test(so)) continue;
      const path = new RegExp(`^\\s*${so.replace(/[.+]/g, '\\$&')} => (\\S+)`, 'm').exec(ldd)?.[1];
      assert.ok(path, `${f}: ${so} not found by ldd`);
      const pkg = owner(path);
      if (!libc.has(pkg) && !new RegExp(`\\b${pkg}\\b`).test(runtime)) missing.push(`${f}: ${so} (${pkg})`);
    }
  }
  assert.deepEqual(missing, []);
});
