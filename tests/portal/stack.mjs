// A whole Keyport for the browser tests, started the way a user starts it:
// scripts/run.sh (`make run`) with a data directory of its own under
// build/, free ports for the gateway and every service, and a known vendor
// admin. stop() ends it (run.sh stops every process and its PostgreSQL).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const SERVICES = ['AUTH', 'ORG', 'LICENSE', 'ACTIVATION', 'RELEASE'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startStack() {
  const build = process.env.BUILD || 'build';
  mkdirSync(join(root, build), { recursive: true });
  const dir = mkdtempSync(join(root, build, 'portal-stack-'));
  const env = { ...process.env, KEYPORT_DATA_DIR: join(dir, 'var'), PG_FAST: '1' };
  const ports = new Set();
  const take = async () => {
    for (;;) {
      const p = await freePort();
      if (!ports.has(p)) {
        ports.add(p);
        return p;
      }
    }
  };
  env.KEYPORT_HTTP_PORT = String(await take());
  for (const s of SERVICES) env[`KEYPORT_${s}_URL`] = `tls+tcp://127.0.0.1:${await take()}`;
  env.KEYPORT_ADMIN_EMAIL = 'vendor@portal.example.com';
  env.KEYPORT_ADMIN_PASSWORD = 'Vendor-pass-' + Math.random().toString(36).slice(2, 10);
  env.KEYPORT_LOG_LEVEL = 'warn';
  env.KEYPORT_BIN_DIR = env.KEYPORT_BIN_DIR || join(root, build, 'bin');
  const child = spawn(join(root, 'scripts/run.sh'), [], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the stack did not start:\n${out}`)), 120000);
    const check = () => {
      if (out.includes('Keyport is running')) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`run.sh exited (${code}):\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${env.KEYPORT_HTTP_PORT}`;
  return {
    url,
    dir,
    admin: { email: env.KEYPORT_ADMIN_EMAIL, password: env.KEYPORT_ADMIN_PASSWORD },
    bin: env.KEYPORT_BIN_DIR,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        process.kill(-child.pid, 'SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 20000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The API as the tests' seeding uses it.
export function client(base) {
  return async function call(method, path, token, body, raw) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let data;
    if (raw !== undefined) {
      data = raw;
      headers['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      data = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(base + path, { method, headers, body: data });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (res.status >= 400) {
      const e = new Error(`${method} ${path}: ${res.status} ${text}`);
      e.status = res.status;
      e.json = json;
      throw e;
    }
    return json;
  };
}
