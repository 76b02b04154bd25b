// k8s/: `kubectl kustomize` renders the base and every overlay; every
// rendered object passes the Kubernetes schemas (kubernetes-models,
// offline; CloudNativePG's kinds in cnpg.test.mjs); and the rendered
// overlays keep the rules of a deployment that scales (policyErrors
// below): replicas found by DNS, no Keyport pod on a ReadWriteOnce volume,
// probes that mean what they say, availability, network policies, TLS,
// non-root. Each rule is shown to fail on a broken copy.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, SERVICES, KNOWN, PORTS, urlParts } from './lib.mjs';
import {
  BASE, OVERLAYS, CNPG_GROUP, kustomize, render, id, ofKind, workloads, keyportWorkloads, named,
  validateK8s, allowed, k8sInit,
} from './k8s-lib.mjs';

const init = k8sInit();
process.on('exit', () => init.cleanup());

// ---- rendering -------------------------------------------------------------
test('k8s: kubectl kustomize renders the base and every overlay', () => {
  for (const dir of [BASE, ...OVERLAYS]) {
    const r = kustomize(join(root, dir));
    assert.ok(r.ok, `${dir}: ${r.err}`);
    assert.ok(ofKind(r.objects, 'Deployment').length === 6, `${dir}: six Deployments`);
  }
});

test('k8s: kubectl kustomize rejects a broken copy (the check can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-k8s-'));
  try {
    cpSync(join(root, 'k8s'), dir, { recursive: true });
    const k = join(dir, 'base', 'kustomization.yaml');
    writeFileSync(k, readFileSync(k, 'utf8') + '  - 99-missing.yaml\n');
    for (const o of ['dev', 'production', 'external-db'])
      assert.equal(kustomize(join(dir, 'overlays', o)).ok, false, `${o}: a missing base resource was accepted`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- schemas ------------------------------------------------------------------
test('k8s: every rendered object passes the Kubernetes schemas', async () => {
  for (const dir of [BASE, ...OVERLAYS]) {
    for (const o of render(dir)) {
      if (o.apiVersion.startsWith(`${CNPG_GROUP}/`)) continue; // cnpg.test.mjs
      await assert.doesNotReject(validateK8s(o), `${dir}: ${id(o)}`);
    }
  }
  for (const o of init.objects) await assert.doesNotReject(validateK8s(o), `k8s-init: ${id(o)}`);
});

test('k8s: the schemas refuse a wrong type, a missing field, an unknown kind (the check can fail)', async () => {
  const objs = render('k8s/overlays/dev');
  const d = structuredClone(named(objs, 'Deployment', 'license'));
  d.spec.replicas = 'two';
  await assert.rejects(validateK8s(d), /replicas must be integer/);
  const s = structuredClone(named(objs, 'Service', 'license'));
  delete s.spec.ports[0].port;
  await assert.rejects(validateK8s(s), /port/);
  const p = structuredClone(named(objs, 'PodDisruptionBudget', 'license'));
  p.spec.maxUnavailable = { one: 1 };
  await assert.rejects(validateK8s(p));
  await assert.rejects(validateK8s({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), /no schema/);
});

// ---- the rules -------------------------------------------------------------
const NS = 'keyport';
const pods = (objs) => workloads(objs).map((w) => ({ w, spec: w.spec.template.spec, labels: w.spec.template.metadata.labels }));
const probeCmd = (p) => p?.exec?.command?.join(' ');
const startupWindow = (p) => !p ? 0 : (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3) + (p.initialDelaySeconds ?? 0);

// Every rule a deployable overlay keeps; returns a list of errors.
function policyErrors(objs, secrets) {
  const errs = [];
  const e = (msg) => errs.push(msg);
  const cms = Object.fromEntries(ofKind(objs, 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
  const cfg = cms['keyport-config'] ?? {};
  const pvcs = Object.fromEntries(ofKind(objs, 'PersistentVolumeClaim').map((p) => [p.metadata.name, p]));

  for (const o of objs) if (o.kind !== 'Namespace' && o.metadata.namespace !== NS) e(`${id(o)}: namespace ${o.metadata.namespace}`);

  // every pod: non-root, read-only root, no privilege, no API token
  for (const { w, spec } of pods(objs)) {
    const n = id(w);
    if (spec.automountServiceAccountToken !== false) e(`${n}: automountServiceAccountToken is not false`);
    if (spec.securityContext?.runAsNonRoot !== true) e(`${n}: runAsNonRoot`);
    if (!(spec.securityContext?.runAsUser > 0)) e(`${n}: runAsUser`);
    if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault') e(`${n}: seccomp RuntimeDefault`);
    for (const c of spec.containers) {
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) e(`${n}/${c.name}: readOnlyRootFilesystem`);
      if (sc.allowPrivilegeEscalation !== false) e(`${n}/${c.name}: allowPrivilegeEscalation`);
      if (!sc.capabilities?.drop?.includes('ALL')) e(`${n}/${c.name}: capabilities drop ALL`);
      if (!c.resources?.limits?.cpu || !c.resources?.limits?.memory) e(`${n}/${c.name}: limits`);
      if (!c.readinessProbe || !c.livenessProbe || !c.startupProbe) e(`${n}/${c.name}: startup, liveness and readiness probes`);
      if (sc.readOnlyRootFilesystem && !(c.volumeMounts ?? []).some((m) => m.mountPath === '/tmp')) e(`${n}/${c.name}: a writable /tmp`);
      const vols = new Set([...(spec.volumes ?? []).map((v) => v.name), ...(w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name)]);
      for (const m of c.volumeMounts ?? []) if (!vols.has(m.name)) e(`${n}/${c.name}: volume ${m.name}`);
    }
  }

  // Keyport's own workloads
  const kw = keyportWorkloads(objs);
  const names = kw.map((w) => w.metadata.name).sort();
  if (names.join() !== ['gateway', ...SERVICES].sort().join()) e(`Keyport workloads: ${names.join(', ')}`);
  for (const w of kw) {
    const n = id(w);
    const spec = w.spec.template.spec;
    const c = spec.containers[0];
    const bin = c.command[0];
    const svc = bin.slice('keyport-'.length);
    if (w.kind !== 'Deployment') e(`${n}: a Deployment`);
    if (!(w.spec.replicas >= 2)) e(`${n}: at least 2 replicas`);
    if (w.spec.strategy?.type !== 'RollingUpdate') e(`${n}: RollingUpdate`);
    if (w.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) e(`${n}: maxUnavailable 0`);
    const keys = (spec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
    if (!keys.includes('kubernetes.io/hostname') || !keys.includes('topology.kubernetes.io/zone')) e(`${n}: topology spread over nodes and zones`);
    for (const t of spec.topologySpreadConstraints ?? [])
      if (!Object.entries(t.labelSelector?.matchLabels ?? {}).every(([k, v]) => w.spec.template.metadata.labels[k] === v)) e(`${n}: spread selector`);
    const pdb = ofKind(objs, 'PodDisruptionBudget').find((p) =>
      Object.entries(p.spec.selector.matchLabels).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    if (!pdb) e(`${n}: no PodDisruptionBudget`);
    else if (pdb.spec.maxUnavailable === undefined && !(pdb.spec.minAvailable < w.spec.replicas)) e(`${n}: its PDB blocks every drain`);
    // no ReadWriteOnce volume, keys from Secrets
    for (const v of spec.volumes ?? []) {
      if (v.persistentVolumeClaim) {
        const p = pvcs[v.persistentVolumeClaim.claimName];
        if (!p) e(`${n}: PVC ${v.persistentVolumeClaim.claimName}`);
        else if (!p.spec.accessModes.every((m) => m === 'ReadWriteMany')) e(`${n}: a ${p.spec.accessModes.join()} volume`);
      }
      if (v.secret) {
        const s = secrets[v.secret.secretName];
        if (!s) e(`${n}: Secret ${v.secret.secretName} is not made by k8s-init.sh`);
        for (const it of v.secret.items ?? []) if (s && !s.keys.includes(it.key)) e(`${n}: Secret ${v.secret.secretName} has no ${it.key}`);
      }
    }
    if ((w.spec.volumeClaimTemplates ?? []).length) e(`${n}: volumeClaimTemplates`);
    // configuration: known names, references that resolve
    const env = {};
    for (const f of c.envFrom ?? []) {
      if (!cms[f.configMapRef?.name]) e(`${n}: ConfigMap ${f.configMapRef?.name}`);
      Object.assign(env, cms[f.configMapRef?.name] ?? {});
    }
    for (const x of c.env ?? []) {
      env[x.name] = x.value ?? '(ref)';
      const sk = x.valueFrom?.secretKeyRef;
      if (sk && !secrets[sk.name]?.keys.includes(sk.key)) e(`${n}: Secret ${sk.name} key ${sk.key} is not made by k8s-init.sh`);
    }
    for (const k of Object.keys(env)) if (k.startsWith('KEYPORT_') && !KNOWN.has(k)) e(`${n}: unknown ${k}`);
    const mounted = (dir) => (c.volumeMounts ?? []).some((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`));
    if (!mounted(env.KEYPORT_BUS_DIR ?? '')) e(`${n}: KEYPORT_BUS_DIR is not a mounted Secret`);
    const busVol = (spec.volumes ?? []).find((v) => v.name === (c.volumeMounts ?? []).find((m) => m.mountPath === env.KEYPORT_BUS_DIR)?.name);
    if (busVol?.secret?.secretName !== `keyport-bus-${svc}`) e(`${n}: its bus Secret is not keyport-bus-${svc}`);
    // probes
    if (svc === 'gateway') {
      if (c.readinessProbe.httpGet?.path !== '/readyz?scope=self') e(`${n}: readiness is not /readyz?scope=self`);
      if (c.livenessProbe.httpGet?.path !== '/healthz') e(`${n}: liveness is not /healthz`);
      const a = spec.template?.metadata?.annotations ?? w.spec.template.metadata.annotations ?? {};
      if (a['prometheus.io/scrape'] !== 'true' || !c.ports.some((p) => String(p.containerPort) === a['prometheus.io/port']) || a['prometheus.io/path'] !== '/metrics')
        e(`${n}: Prometheus scrape annotations`);
    } else {
      if (probeCmd(c.livenessProbe) !== `${bin} --probe live`) e(`${n}: liveness is not --probe live (never the database)`);
      if (probeCmd(c.startupProbe) !== `${bin} --probe live`) e(`${n}: startup is not --probe live`);
      if (probeCmd(c.readinessProbe) !== `${bin} --probe ready`) e(`${n}: readiness is not --probe ready (the database)`);
      if (startupWindow(c.startupProbe) < Number(env.KEYPORT_DB_WAIT_SECONDS ?? 60)) e(`${n}: the startupProbe gives up before the database wait`);
      if (!(c.livenessProbe.timeoutSeconds >= 9)) e(`${n}: liveness timeout below the probe's own wait (8 s)`);
      if (!env.KEYPORT_DATABASE_URL || !env.KEYPORT_LISTEN_URL) e(`${n}: database and listen URL`);
      if (env.KEYPORT_DATABASE_URL && new URL(env.KEYPORT_DATABASE_URL).password) e(`${n}: a password in the database URL`);
      if (!(c.env ?? []).some((x) => x.name === 'PGPASSWORD' && x.valueFrom?.secretKeyRef)) e(`${n}: PGPASSWORD from a Secret`);
      const listen = env.KEYPORT_LISTEN_URL ? urlParts(env.KEYPORT_LISTEN_URL).port : 0;
      if (listen !== PORTS[svc]) e(`${n}: listens on ${listen}, kp_services.def says ${PORTS[svc]}`);
      if (!c.ports.some((p) => p.containerPort === listen && p.name === 'rpc')) e(`${n}: port ${listen} not exposed`);
    }
  }
  // auth: keys from a Secret, never rotated by itself
  const auth = kw.find((w) => w.metadata.name === 'auth');
  if (auth && !(auth.spec.template.spec.containers[0].env ?? []).some((x) => x.name === 'KEYPORT_AUTH_KEY_ROTATION' && x.value === 'external'))
    e('auth: KEYPORT_AUTH_KEY_ROTATION=external');

  // every service behind a headless Service at the address the others dial
  for (const s of SERVICES) {
    const url = cfg[`KEYPORT_${s.toUpperCase()}_URL`];
    const { host, port } = url ? urlParts(url.split(',')[0]) : {};
    if (url?.includes(',')) e(`${s}: one name, not a list`);
    if (host !== s) e(`${s}: dialled as ${host}, not its Service name`);
    const svc = named(objs, 'Service', s);
    if (!svc) { e(`${s}: no Service`); continue; }
    if (svc.spec.clusterIP !== 'None') e(`Service ${s}: not headless`);
    if (!svc.spec.ports.some((p) => p.port === port && p.targetPort === 'rpc')) e(`Service ${s}: no port ${port}`);
    if (svc.spec.selector?.['app.kubernetes.io/name'] !== s) e(`Service ${s}: selector`);
  }
  for (const s of ofKind(objs, 'Service')) {
    const hit = workloads(objs).filter((w) => Object.entries(s.spec.selector ?? {}).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    const cl = ofKind(objs, 'Cluster').some((c) => s.spec.selector?.['cnpg.io/cluster'] === c.metadata.name);
    if (hit.length === 0 && !cl) e(`Service ${s.metadata.name} selects nothing`);
  }

  // autoscaling
  for (const n of ['gateway', 'activation', 'license']) {
    const h = named(objs, 'HorizontalPodAutoscaler', n);
    if (!h) { e(`${n}: no HorizontalPodAutoscaler`); continue; }
    if (h.spec.scaleTargetRef.kind !== 'Deployment' || !named(objs, 'Deployment', h.spec.scaleTargetRef.name)) e(`HPA ${n}: target`);
    if (!(h.spec.minReplicas >= 2) || !(h.spec.maxReplicas > h.spec.minReplicas)) e(`HPA ${n}: replicas`);
  }

  // the way in: an Ingress with TLS, to the gateway only
  const ings = ofKind(objs, 'Ingress');
  if (ings.length !== 1) e(`${ings.length} Ingresses`);
  for (const i of ings) {
    if (!i.spec.tls?.length || !i.spec.tls.every((t) => t.secretName && t.hosts?.length)) e(`${id(i)}: TLS`);
    for (const r of i.spec.rules ?? []) {
      if (!i.spec.tls?.some((t) => t.hosts.includes(r.host))) e(`${id(i)}: ${r.host} without TLS`);
      for (const p of r.http.paths) if (p.backend.service?.name !== 'gateway') e(`${id(i)}: routes to ${p.backend.service?.name}`);
    }
  }
  for (const s of ofKind(objs, 'Service')) if (s.spec.type && s.spec.type !== 'ClusterIP') e(`Service ${s.metadata.name}: ${s.spec.type}`);
  return errs;
}

// Who may reach whom, from the NetworkPolicies (ingress).
function networkErrors(objs) {
  const errs = [];
  const pol = ofKind(objs, 'NetworkPolicy');
  const pod = (name) => {
    const w = workloads(objs).find((x) => x.metadata.name === name);
    return { namespace: NS, labels: w.spec.template.metadata.labels };
  };
  const ingress = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
  const stranger = { namespace: 'default', labels: { app: 'curl' } };
  const neighbour = { namespace: NS, labels: { app: 'debug' } };
  const expect = (src, what, dst, port, want) => {
    if (allowed(pol, src, dst, port) !== want) errs.push(`${what} :${port} ${want ? 'blocked' : 'reachable'}`);
  };
  const gw = pod('gateway');
  expect(ingress, 'ingress -> gateway', gw, 8080, true);
  expect(stranger, 'another namespace -> gateway', gw, 8080, false);
  // the metrics ports (KEYPORT_<PROCESS>_METRICS_PORT): Prometheus only
  const monitoring = { namespace: 'monitoring', labels: { app: 'prometheus' } };
  expect(monitoring, 'monitoring -> gateway', gw, 9100, true);
  expect(stranger, 'another namespace -> gateway', gw, 9100, false);
  SERVICES.forEach((s, i) => {
    expect(monitoring, `monitoring -> ${s}`, pod(s), 9101 + i, true);
    expect(stranger, `another namespace -> ${s}`, pod(s), 9101 + i, false);
  });
  for (const s of SERVICES) {
    const dst = pod(s);
    expect(gw, `gateway -> ${s}`, dst, PORTS[s], true);
    for (const t of SERVICES) expect(pod(t), `${t} -> ${s}`, dst, PORTS[s], true);
    expect(ingress, `ingress -> ${s}`, dst, PORTS[s], false);
    expect(stranger, `another namespace -> ${s}`, dst, PORTS[s], false);
    expect(neighbour, `a foreign pod -> ${s}`, dst, PORTS[s], false);
  }
  // the database: dev's StatefulSet, production's pooler and instances
  const dbs = [];
  if (named(objs, 'StatefulSet', 'postgres')) dbs.push(['postgres', pod('postgres'), true]);
  for (const p of ofKind(objs, 'Pooler')) dbs.push([p.metadata.name, { namespace: NS, labels: { 'cnpg.io/poolerName': p.metadata.name } }, true]);
  for (const c of ofKind(objs, 'Cluster')) dbs.push([c.metadata.name, { namespace: NS, labels: { 'cnpg.io/cluster': c.metadata.name } }, false]);
  for (const [n, dst, fromServices] of dbs) {
    for (const s of SERVICES) expect(pod(s), `${s} -> ${n}`, dst, 5432, fromServices);
    expect(gw, `gateway -> ${n}`, dst, 5432, false);
    expect(ingress, `ingress -> ${n}`, dst, 5432, false);
    expect(neighbour, `a foreign pod -> ${n}`, dst, 5432, false);
  }
  for (const p of ofKind(objs, 'Pooler'))
    for (const c of ofKind(objs, 'Cluster'))
      expect({ namespace: NS, labels: { 'cnpg.io/poolerName': p.metadata.name } }, `${p.metadata.name} -> ${c.metadata.name}`,
        { namespace: NS, labels: { 'cnpg.io/cluster': c.metadata.name } }, 5432, true);
  return errs;
}

for (const dir of OVERLAYS) {
  test(`k8s: ${dir} keeps every rule`, () => {
    assert.deepEqual(policyErrors(render(dir), init.secrets), []);
  });
  test(`k8s: ${dir}: only the gateway from the Ingress, services from the gateway and each other, the database from the services`, () => {
    assert.deepEqual(networkErrors(render(dir)), []);
  });
}

// Each rule broken once on a copy of the dev (or production) overlay.
const dep = (objs, n) => named(objs, 'Deployment', n);
const ctr = (objs, n) => dep(objs, n).spec.template.spec.containers[0];
const breakers = [
  ['one replica', (o) => { dep(o, 'org').spec.replicas = 1; }, /org: at least 2 replicas/],
  ['Recreate', (o) => { dep(o, 'auth').spec.strategy = { type: 'Recreate' }; }, /auth: RollingUpdate/],
  ['no PDB', (o) => o.splice(o.indexOf(named(o, 'PodDisruptionBudget', 'release')), 1), /release: no PodDisruptionBudget/],
  ['no spread', (o) => { delete dep(o, 'license').spec.template.spec.topologySpreadConstraints; }, /license: topology spread/],
  ['a mounted token', (o) => { dep(o, 'gateway').spec.template.spec.automountServiceAccountToken = true; }, /gateway: automountServiceAccountToken/],
  ['root', (o) => { delete dep(o, 'org').spec.template.spec.securityContext.runAsNonRoot; }, /org: runAsNonRoot/],
  ['PostgreSQL with a writable root', (o) => { named(o, 'StatefulSet', 'postgres').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; }, /postgres\/postgres: readOnlyRootFilesystem/],
  ['a ReadWriteOnce volume', (o) => { named(o, 'PersistentVolumeClaim', 'keyport-releases').spec.accessModes = ['ReadWriteOnce']; }, /a ReadWriteOnce volume/],
  ['a Secret k8s-init does not make', (o) => { dep(o, 'license').spec.template.spec.volumes.find((v) => v.name === 'keys').secret.secretName = 'license-keys'; }, /Secret license-keys is not made/],
  ['a Secret key k8s-init does not make', (o) => { ctr(o, 'auth').env.find((x) => x.name === 'KEYPORT_ADMIN_EMAIL').valueFrom.secretKeyRef.key = 'mail'; }, /key mail is not made/],
  ['another identity\'s bus Secret', (o) => { dep(o, 'org').spec.template.spec.volumes.find((v) => v.name === 'bus').secret.secretName = 'keyport-bus-auth'; }, /org: its bus Secret/],
  ['a liveness probe on the database', (o) => { ctr(o, 'activation').livenessProbe.exec.command = ['keyport-activation', '--probe', 'ready']; }, /activation: liveness is not --probe live/],
  ['a readiness probe without the database', (o) => { ctr(o, 'license').readinessProbe.exec.command = ['keyport-license', '--probe', 'live']; }, /license: readiness is not --probe ready/],
  ['a short startup', (o) => { ctr(o, 'org').startupProbe.failureThreshold = 3; }, /org: the startupProbe gives up/],
  ['no startup probe', (o) => { delete ctr(o, 'release').startupProbe; }, /release\/release: startup, liveness and readiness/],
  ['the gateway ready only with every service', (o) => { ctr(o, 'gateway').readinessProbe.httpGet.path = '/readyz'; }, /gateway: readiness is not \/readyz\?scope=self/],
  ['no scrape annotations', (o) => { delete dep(o, 'gateway').spec.template.metadata.annotations; }, /Prometheus/],
  ['a ClusterIP Service', (o) => { delete named(o, 'Service', 'activation').spec.clusterIP; }, /activation: not headless/],
  ['a list of replicas', (o) => { named(o, 'ConfigMap', 'keyport-config').data.KEYPORT_ACTIVATION_URL = 'tls+tcp://activation-0.activation:7104,tls+tcp://activation-1.activation:7104'; }, /activation: one name/],
  ['a wrong port', (o) => { named(o, 'ConfigMap', 'keyport-config').data.KEYPORT_ORG_URL = 'tls+tcp://org:7199'; }, /Service org: no port 7199/],
  ['an unknown variable', (o) => { ctr(o, 'org').env.push({ name: 'KEYPORT_ORGS_URL', value: 'x' }); }, /unknown KEYPORT_ORGS_URL/],
  ['a password in the URL', (o) => { named(o, 'ConfigMap', 'keyport-database').data.KEYPORT_DATABASE_URL = 'postgresql://keyport:pw@postgres/keyport'; }, /a password in the database URL/],
  ['no HPA for license', (o) => o.splice(o.indexOf(named(o, 'HorizontalPodAutoscaler', 'license')), 1), /license: no HorizontalPodAutoscaler/],
  ['an Ingress without TLS', (o) => { delete named(o, 'Ingress', 'keyport').spec.tls; }, /Ingress\/keyport: TLS/],
  ['an Ingress to a service', (o) => { named(o, 'Ingress', 'keyport').spec.rules[0].http.paths[0].backend.service.name = 'auth'; }, /routes to auth/],
  ['a LoadBalancer', (o) => { named(o, 'Service', 'gateway').spec.type = 'LoadBalancer'; }, /gateway: LoadBalancer/],
  ['auth rotating its own keys', (o) => { ctr(o, 'auth').env = ctr(o, 'auth').env.filter((x) => x.name !== 'KEYPORT_AUTH_KEY_ROTATION'); }, /KEYPORT_AUTH_KEY_ROTATION=external/],
];
for (const [what, brk, re] of breakers) {
  test(`k8s: ${what} is refused (the check can fail)`, () => {
    const objs = render('k8s/overlays/dev');
    brk(objs);
    const errs = policyErrors(objs, init.secrets);
    assert.ok(errs.some((x) => re.test(x)), `not reported: ${errs.join('; ') || 'no error'}`);
  });
}

const netBreakers = [
  ['no policy for the gateway (and no default deny)', 'k8s/overlays/dev', (o) => {
    for (const n of ['default-deny-ingress', 'gateway-from-ingress']) o.splice(o.indexOf(named(o, 'NetworkPolicy', n)), 1);
  }, /another namespace -> gateway :8080 reachable/],
  ['no policy for the services', 'k8s/overlays/dev', (o) => o.splice(o.indexOf(named(o, 'NetworkPolicy', 'services-from-keyport')), 1), /gateway -> auth :7101 blocked/],
  ['services open to every pod', 'k8s/overlays/dev', (o) => { named(o, 'NetworkPolicy', 'services-from-keyport').spec.ingress[0].from = [{ podSelector: {} }]; }, /a foreign pod -> org :7102 reachable/],
  ['the gateway at the database', 'k8s/overlays/dev', (o) => { named(o, 'NetworkPolicy', 'database-from-services').spec.ingress[0].from[0].podSelector = { matchExpressions: [{ key: 'app.kubernetes.io/part-of', operator: 'Exists' }] }; }, /gateway -> postgres :5432 reachable/],
  ['services past the pooler', 'k8s/overlays/production', (o) => { named(o, 'NetworkPolicy', 'database-from-pooler').spec.ingress[0].from.push({ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'service' } } }); }, /auth -> keyport-db :5432 reachable/],
  ['the gateway closed', 'k8s/overlays/external-db', (o) => { named(o, 'NetworkPolicy', 'gateway-from-ingress').spec.ingress[0].ports[0].port = 80; }, /ingress -> gateway :8080 blocked/],
];
for (const [what, dir, brk, re] of netBreakers) {
  test(`k8s: network policies with ${what} are refused (the check can fail)`, () => {
    const objs = render(dir);
    brk(objs);
    const errs = networkErrors(objs);
    assert.ok(errs.some((x) => re.test(x)), `not reported: ${errs.join('; ') || 'no error'}`);
  });
}

test('k8s: the overlays differ only in the database', () => {
  const key = (o) => `${o.kind}/${o.metadata.name}`;
  const base = new Set(render(BASE).map(key));
  const extra = {
    'k8s/overlays/dev': ['ConfigMap/keyport-database', 'NetworkPolicy/database-from-services', 'Service/postgres', 'StatefulSet/postgres'],
    'k8s/overlays/production': ['Cluster/keyport-db', 'ConfigMap/keyport-database', 'NetworkPolicy/database-from-pooler', 'NetworkPolicy/database-pooler-from-services', 'Pooler/keyport-db-pooler-rw'],
    'k8s/overlays/external-db': ['ConfigMap/keyport-database'],
  };
  for (const dir of OVERLAYS) {
    const objs = render(dir);
    assert.deepEqual(objs.map(key).filter((k) => !base.has(k)).sort(), extra[dir], dir);
    for (const k of base) assert.ok(objs.some((o) => key(o) === k), `${dir} lacks ${k}`);
  }
});
