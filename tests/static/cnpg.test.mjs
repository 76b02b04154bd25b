// The production overlay's CloudNativePG Cluster and Pooler against what the
// operator's documentation requires (cnpgErrors in k8s-lib.mjs), and what
// Keyport needs of them: 3 instances, the database and owner the services
// dial, a Pooler in session mode in front of the primary that the
// services' URL names. Each rule is shown to fail on a broken copy.
import test from 'node:test';
import assert from 'node:assert/strict';
import { render, ofKind, named, cnpgErrors, k8sInit } from './k8s-lib.mjs';

const PROD = 'k8s/overlays/production';
const init = k8sInit();
process.on('exit', () => init.cleanup());

test('cnpg: the production Cluster and Pooler pass the operator\'s rules', () => {
  const objs = render(PROD);
  assert.equal(ofKind(objs, 'Cluster').length, 1);
  assert.equal(ofKind(objs, 'Pooler').length, 1);
  assert.deepEqual(cnpgErrors(objs, init.secrets), []);
});

test('cnpg: what Keyport needs of them', () => {
  const objs = render(PROD);
  const [cluster] = ofKind(objs, 'Cluster');
  const [pooler] = ofKind(objs, 'Pooler');
  assert.equal(cluster.spec.instances, 3);
  assert.equal(cluster.spec.bootstrap.initdb.database, 'keyport');
  assert.equal(cluster.spec.bootstrap.initdb.owner, 'keyport');
  assert.equal(cluster.spec.enableSuperuserAccess, false);
  assert.equal(cluster.spec.affinity.enablePodAntiAffinity, true);
  assert.equal(pooler.spec.cluster.name, cluster.metadata.name);
  assert.equal(pooler.spec.type, 'rw');
  // session: the services keep named prepared statements and their schema
  // per connection (kp_db.c); transaction pooling would mix them
  assert.equal(pooler.spec.pgbouncer.poolMode, 'session');
  assert.ok(pooler.spec.instances >= 2, 'the pooler is no single point of failure');
  // the services dial the pooler's Service (named after the Pooler)
  const url = named(objs, 'ConfigMap', 'keyport-database').data.KEYPORT_DATABASE_URL;
  const u = new URL(url);
  assert.equal(u.hostname, pooler.metadata.name);
  assert.equal(u.port, '5432');
  assert.equal(u.pathname, `/${cluster.spec.bootstrap.initdb.database}`);
  assert.equal(u.username, cluster.spec.bootstrap.initdb.owner);
  assert.equal(u.password, '', 'no password in a ConfigMap');
  assert.equal(u.searchParams.get('sslmode'), 'require');
  // the pool holds every service connection: Σ maxReplicas x workers
  // would exceed it only at full HPA scale of every service at once
  assert.ok(Number(pooler.spec.pgbouncer.parameters.default_pool_size) * pooler.spec.instances <
    Number(cluster.spec.postgresql.parameters.max_connections), 'pooler connections fit max_connections');
  // scrape annotations reach the instance pods
  assert.equal(cluster.spec.inheritedMetadata.annotations['prometheus.io/scrape'], 'true');
});

// Every rule of cnpgErrors, broken once on a copy: each must be reported.
const breakers = [
  ['instances 0', (c) => { c.spec.instances = 0; }, /instances must be an integer >= 1/],
  ['instances as text', (c) => { c.spec.instances = '3'; }, /instances must be an integer/],
  ['no storage', (c) => { delete c.spec.storage; }, /storage.size is required/],
  ['storage not a quantity', (c) => { c.spec.storage.size = '20 gigs'; }, /not a quantity/],
  ['two bootstrap methods', (c) => { c.spec.bootstrap.recovery = { source: 'x' }; }, /one bootstrap method/],
  ['owner without database', (c) => { delete c.spec.bootstrap.initdb.database; }, /owner needs database/],
  ['secret not made', (c) => { c.spec.bootstrap.initdb.secret.name = 'nope'; }, /is not made/],
  ['fixed parameter', (c) => { c.spec.postgresql.parameters.listen_addresses = '*'; }, /fixed by the operator/],
  ['number parameter', (c) => { c.spec.postgresql.parameters.max_connections = 300; }, /must be a string/],
  ['bad update strategy', (c) => { c.spec.primaryUpdateStrategy = 'sometimes'; }, /primaryUpdateStrategy/],
  ['bad name', (c) => { c.metadata.name = 'Keyport_DB'; }, /DNS-1123/],
  ['old apiVersion', (c) => { c.apiVersion = 'postgresql.cnpg.io/v1beta1'; }, /apiVersion/],
];
const poolerBreakers = [
  ['cluster missing', (p) => { p.spec.cluster.name = 'other'; }, /no Cluster of that name/],
  ['pooler named like the cluster', (p) => { p.metadata.name = 'keyport-db'; }, /name of a Cluster/],
  ['bad type', (p) => { p.spec.type = 'rw2'; }, /spec.type/],
  ['bad pool mode', (p) => { p.spec.pgbouncer.poolMode = 'statement'; }, /poolMode/],
  ['unlisted parameter', (p) => { p.spec.pgbouncer.parameters.listen_port = '6432'; }, /not one the operator lets users set/],
  ['number parameter', (p) => { p.spec.pgbouncer.parameters.max_client_conn = 1000; }, /must be a string/],
  ['template without containers', (p) => { delete p.spec.template.spec.containers; }, /containers is required/],
  ['no pgbouncer', (p) => { delete p.spec.pgbouncer; }, /pgbouncer is required/],
  ['negative instances', (p) => { p.spec.instances = -1; }, /instances must be an integer >= 0/],
];

for (const [what, brk, re] of breakers) {
  test(`cnpg: a Cluster with ${what} is refused (the check can fail)`, () => {
    const objs = render(PROD);
    brk(ofKind(objs, 'Cluster')[0]);
    const errs = cnpgErrors(objs, init.secrets);
    assert.ok(errs.some((x) => re.test(x)), `not reported: ${errs.join('; ') || 'no error'}`);
  });
}
for (const [what, brk, re] of poolerBreakers) {
  test(`cnpg: a Pooler with ${what} is refused (the check can fail)`, () => {
    const objs = render(PROD);
    brk(ofKind(objs, 'Pooler')[0]);
    const errs = cnpgErrors(objs, init.secrets);
    assert.ok(errs.some((x) => re.test(x)), `not reported: ${errs.join('; ') || 'no error'}`);
  });
}

test('cnpg: the owner secret must be basic-auth with the owner\'s name (the check can fail)', () => {
  const objs = render(PROD);
  const bad = structuredClone(init.secrets);
  bad['keyport-db'].type = 'Opaque';
  assert.ok(cnpgErrors(objs, bad).some((x) => /basic-auth/.test(x)));
  const other = structuredClone(init.secrets);
  other['keyport-db'].values.username = 'app';
  assert.ok(cnpgErrors(objs, other).some((x) => /is not the owner/.test(x)));
  const nopw = structuredClone(init.secrets);
  nopw['keyport-db'].keys = ['username'];
  assert.ok(cnpgErrors(objs, nopw).some((x) => /lacks password/.test(x)));
});
