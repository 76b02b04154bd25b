// k8s/: kubectl kustomize renders it; every object validates against the
// Kubernetes schemas (kubernetes-models, offline); selectors select, probes,
// limits, non-root, references resolve.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { yamlDocs, root, SERVICES, BINARIES, KNOWN, PORTS, urlParts } from './lib.mjs';

const kustomize = (dir) => {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error) throw new Error(`kubectl kustomize: ${r.error.message} (kubectl with kustomize v5 is needed)`);
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
};

test('k8s: kubectl kustomize renders k8s/', () => {
  const r = kustomize(join(root, 'k8s'));
  assert.ok(r.ok, r.err);
  assert.match(r.out, /kind: Deployment/);
});

test('k8s: kubectl kustomize rejects a broken copy (the check can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-k8s-'));
  try {
    cpSync(join(root, 'k8s'), dir, { recursive: true });
    const k = join(dir, 'kustomization.yaml');
    writeFileSync(k, readFileSync(k, 'utf8') + '  - 99-missing.yaml\n');
    assert.equal(kustomize(dir).ok, false, 'a missing resource was accepted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- Kubernetes -----------------------------------------------------------
const docs = yamlDocs('k8s').filter((d) => d.obj.kind !== 'Kustomization');
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

