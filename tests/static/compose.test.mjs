// compose.yaml: Debian's docker-compose accepts it (`docker-compose config`,
// no engine needed), and it is what docs/deploy.md promises: secrets as
// files and no default password, one volume per service that holds keys,
// the release files on one volume shared by release and the gateway, the
// gateway waiting for healthy services, restart policies and limits, two
// activation replicas dialled by everyone.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, copyFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { read, root, SERVICES, BINARIES, KNOWN, urlParts } from './lib.mjs';

// `docker-compose config -q` on a compose file text: {ok, err}. Run in a
// scratch directory holding the text as compose.yaml (relative paths such
// as the secret files and the build context resolve there, and need not
// exist for `config`).
function composeConfig(text) {
  const dir = mkdtempSync(join(tmpdir(), 'kp-compose-'));
  try {
    writeFileSync(join(dir, 'compose.yaml'), text);
    const r = spawnSync('docker-compose', ['-f', join(dir, 'compose.yaml'), '--project-directory', dir, 'config', '-q'],
      { encoding: 'utf8', env: { ...process.env, KEYPORT_ADMIN_EMAIL: 'ops@example.com' } });
    if (r.error) throw r.error;
    return { ok: r.status === 0, err: `${r.stderr}${r.stdout}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('compose: docker-compose config accepts compose.yaml', () => {
  const r = composeConfig(read('compose.yaml'));
  assert.ok(r.ok, `docker-compose config: ${r.err}`);
});

test('compose: docker-compose config rejects a broken copy (the check can fail)', () => {
  const good = read('compose.yaml');
  const broken = [
    good.replace('condition: service_healthy', 'condition: service_sleepy'),
    good.replace('  gateway:\n', '  gateway:\n    restart: sometimes\n    not_a_key: 1\n'),
    good.replace(/^volumes:\n/m, 'volumes: 7\nx-unused:\n'),
  ];
  for (const [i, text] of broken.entries()) {
    assert.notEqual(text, good, `broken copy ${i} changed nothing`);
    assert.equal(composeConfig(text).ok, false, `broken copy ${i} was accepted`);
  }
});

const compose = parse(read('compose.yaml'), { merge: true });
const cs = compose.services;
const svcOf = (c) => (Array.isArray(c.command) ? c.command[0] : String(c.command || '').split(' ')[0]).replace(/^keyport-/, '');
const keyport = () => Object.entries(cs).filter(([n]) => n !== 'postgres');

test('compose: postgres 15 (exact tag) with a health check, a volume and its password from a secret', () => {
  const pg = cs.postgres;
  assert.match(pg.image, /^postgres:15\.\d+/);
  assert.ok(pg.healthcheck?.test?.join(' ').includes('pg_isready'));
  assert.ok(pg.volumes?.some((v) => v.startsWith('pgdata:')));
  assert.ok('pgdata' in compose.volumes);
  assert.ok(!('POSTGRES_PASSWORD' in pg.environment), 'POSTGRES_PASSWORD as plain text');
  assert.match(pg.environment.POSTGRES_PASSWORD_FILE, /^\/run\/secrets\//);
  assert.ok(pg.secrets.includes(pg.environment.POSTGRES_PASSWORD_FILE.slice('/run/secrets/'.length)));
});

test('compose: no password in the file, no default for one; secrets are files', () => {
  const text = read('compose.yaml');
  assert.doesNotMatch(text, /\$\{[A-Z_]*PASSWORD[A-Z_]*:?-/, 'a password with a default');
  assert.doesNotMatch(text, /postgresql:\/\/[^@\s]*:[^@\s]*@/, 'a URL with a password');
  for (const [name, c] of Object.entries(cs))
    for (const [k, v] of Object.entries(c.environment || {})) {
      if (/PASSWORD|DATABASE_URL/.test(k)) assert.match(k, /_FILE$/, `${name}: ${k} as plain text`);
      if (k.endsWith('_FILE')) {
        const s = String(v).replace(/^\/run\/secrets\//, '');
        assert.ok((c.secrets || []).includes(s), `${name}: ${k} names ${v}, not one of its secrets`);
      }
    }
  for (const [name, s] of Object.entries(compose.secrets)) {
    assert.ok(s.file, `secret ${name}: a file`);
    assert.match(s.file, /^\.\/secrets\//, `secret ${name}: under ./secrets`);
  }
  assert.match(read('.gitignore'), /^\/secrets\/$/m, 'secrets/ is not committed');
  assert.match(read('.dockerignore'), /^secrets$/m, 'secrets/ stays out of the image');
});

test('compose: every Keyport service has image, build, command, health check, restart policy and limits', () => {
  for (const [name, c] of keyport()) {
    assert.ok(c.image && c.build, `${name}: image and build`);
    assert.ok(BINARIES.includes(`keyport-${svcOf(c)}`), `${name}: command ${c.command}`);
    const hc = c.healthcheck?.test?.join(' ') || '';
    if (svcOf(c) === 'gateway') assert.match(hc, /curl .*\/readyz\?scope=self/, `${name}: health check`);
    else assert.equal(hc, `CMD keyport-${svcOf(c)} --check`, `${name}: health check`);
    for (const d of Object.keys(c.depends_on || {})) assert.ok(cs[d], `${name} depends on unknown ${d}`);
    for (const v of c.volumes || []) {
      // a named volume, or the identity's own bus credentials (read-only)
      const bus = /^\.\/secrets\/bus-([a-z]+):\/run\/keyport\/bus:ro$/.exec(v);
      if (bus) assert.equal(bus[1], svcOf(c), `${name}: another identity's bus credentials`);
      else assert.ok(v.split(':')[0] in compose.volumes, `${name}: volume ${v}`);
    }
    assert.ok((c.volumes || []).some((v) => v.startsWith(`./secrets/bus-${svcOf(c)}:`)), `${name}: its bus credentials`);
    assert.match(c.restart || '', /^(always|unless-stopped|on-failure)/, `${name}: restart policy`);
    assert.ok(c.deploy?.resources?.limits?.memory && c.deploy.resources.limits.cpus, `${name}: limits`);
  }
  assert.ok(cs.postgres.restart && cs.postgres.deploy?.resources?.limits?.memory, 'postgres: restart and limits');
  const present = new Set(Object.values(cs).map(svcOf));
  for (const b of ['gateway', ...SERVICES]) assert.ok(present.has(b), `no compose service runs keyport-${b}`);
  assert.ok(Object.values(cs).filter((c) => svcOf(c) === 'activation').length >= 2, 'two activation replicas');
});

test('compose: the gateway waits for every service to be healthy, the services for PostgreSQL', () => {
  const gw = cs.gateway;
  for (const [name, c] of keyport()) {
    if (name === 'gateway') continue;
    assert.equal(gw.depends_on?.[name]?.condition, 'service_healthy', `gateway does not wait for ${name}`);
    assert.equal(c.depends_on?.postgres?.condition, 'service_healthy', `${name}: waits for postgres`);
  }
});

test('compose: only known KEYPORT_* variables, the database URL for every service', () => {
  for (const [name, c] of keyport()) {
    const env = c.environment || {};
    assert.ok(!Array.isArray(env), `${name}: environment as a map`);
    for (const k of Object.keys(env)) if (k.startsWith('KEYPORT_')) assert.ok(KNOWN.has(k), `${name}: unknown ${k}`);
    if (svcOf(c) !== 'gateway') assert.ok(env.KEYPORT_DATABASE_URL_FILE, `${name}: database URL`);
    else assert.ok(!env.KEYPORT_DATABASE_URL_FILE && !(c.secrets || []).includes('database-url'), 'the gateway has no database');
  }
  const helper = read('scripts/compose-secrets.sh');
  assert.match(helper, /@postgres:5432\/keyport/, 'compose-secrets.sh: the URL names the postgres service');
  for (const s of Object.keys(compose.secrets)) assert.ok(helper.includes(`secrets/${s}`), `compose-secrets.sh makes ${s}`);
});

test('compose: every address dialled is a listener of that service, every replica dialled', () => {
  for (const [name, c] of keyport()) {
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
      for (const [other, oc] of Object.entries(cs))
        if (svcOf(oc) === s) assert.ok(urls.some((u) => urlParts(u).host === other), `${name}: does not dial ${other}`);
    }
  }
  const gw = cs.gateway;
  assert.ok(gw.ports.some((p) => String(p).endsWith(`:${gw.environment.KEYPORT_HTTP_PORT}`)), 'gateway port');
});

test('compose: one volume per service that holds keys; release files shared by release and the gateway', () => {
  const users = {};
  for (const [name, c] of Object.entries(cs))
    for (const v of c.volumes || []) (users[v.split(':')[0]] ||= []).push(name);
  // auth (token keys), license (master key), release (links key) write keys
  for (const s of ['auth', 'license', 'release']) {
    const c = cs[s];
    const dir = c.environment.KEYPORT_SECRET_DIR;
    assert.ok(dir, `${s}: KEYPORT_SECRET_DIR`);
    const vol = c.volumes.find((v) => dir.startsWith(v.split(':')[1]));
    assert.ok(vol, `${s}: ${dir} on a volume`);
    assert.deepEqual(users[vol.split(':')[0]], [s], `${s}: its key volume is shared with ${users[vol.split(':')[0]]}`);
  }
  assert.ok('KEYPORT_ADMIN_PASSWORD_FILE' in cs.auth.environment && 'KEYPORT_ADMIN_EMAIL' in cs.auth.environment);
  // KEYPORT_RELEASE_DIR defaults to $KEYPORT_DATA_DIR/releases
  for (const s of ['release', 'gateway']) {
    const dataDir = cs[s].environment.KEYPORT_DATA_DIR;
    const relDir = cs[s].environment.KEYPORT_RELEASE_DIR || `${dataDir}/releases`;
    assert.ok(cs[s].volumes.includes(`release-files:${relDir}`), `${s}: release-files at ${relDir}`);
  }
  assert.deepEqual(users['release-files'].sort(), ['gateway', 'release']);
});

test('compose: the Keyport containers are read-only, without capabilities', () => {
  for (const [name, c] of keyport()) {
    assert.equal(c.read_only, true, `${name}: read_only`);
    assert.ok(c.cap_drop?.includes('ALL'), `${name}: cap_drop ALL`);
    assert.ok(c.tmpfs?.includes('/tmp'), `${name}: /tmp`);
  }
});

// the helper makes the files once, consistent with each other, and keeps them
test('compose: scripts/compose-secrets.sh makes consistent secret files and keeps them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-secrets-'));
  try {
    mkdirSync(join(dir, 'scripts'));
    copyFileSync(join(root, 'scripts/compose-secrets.sh'), join(dir, 'scripts/compose-secrets.sh'));
    copyFileSync(join(root, 'scripts/bus-certs.sh'), join(dir, 'scripts/bus-certs.sh'));
    const run = () => execFileSync('bash', [join(dir, 'scripts/compose-secrets.sh')], { stdio: 'ignore' });
    run();
    const get = (f) => readFileSync(join(dir, 'secrets', f), 'utf8');
    const pw = get('postgres-password');
    assert.ok(pw.length >= 24, 'a long random password');
    assert.equal(get('database-url').trim(), `postgresql://keyport:${pw}@postgres:5432/keyport`);
    assert.ok(get('admin-password').length >= 24);
    assert.equal(statSync(join(dir, 'secrets')).mode & 0o777, 0o700);
    run();
    assert.equal(get('postgres-password'), pw, 'a second run keeps the files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
