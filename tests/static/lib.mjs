// Shared helpers for the static tests (node --test tests/static): the tree's
// root, YAML loading, and readers for the C sources the checks compare with.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function read(rel) {
  return readFileSync(join(root, rel), 'utf8');
}

export function exists(rel) {
  return existsSync(join(root, rel));
}

export function yamlFile(rel) {
  return parse(read(rel));
}

// Every document of every *.yaml file under dir (k8s/), with its file name.
export function yamlDocs(dir) {
  const out = [];
  for (const f of readdirSync(join(root, dir)).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    for (const d of parseAllDocuments(read(join(dir, f)))) {
      if (d.errors.length) throw new Error(`${dir}/${f}: ${d.errors[0].message}`);
      const obj = d.toJS();
      if (obj) out.push({ file: `${dir}/${f}`, obj });
    }
  }
  return out;
}

// C and shell sources of the tree (not build output, not node_modules).
export function sources(exts = ['.c', '.h']) {
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (['build', 'build-san', 'node_modules', 'var', '.git'].includes(e.name)) continue;
        walk(p);
      } else if (exts.some((x) => e.name.endsWith(x))) {
        out.push(p);
      }
    }
  };
  walk('');
  return out;
}

// The KEYPORT_* environment variables the programs read: the table of
// common/kp_config.def, plus string literals in the C sources passed to
// getenv/kp_config_*. Protobuf-C macros (KEYPORT__X) are not variables.
export function envVarsRead() {
  const names = new Set();
  for (const m of read('common/kp_config.def').matchAll(/^KP_CFG\((\w+),/gm)) names.add(`KEYPORT_${m[1]}`);
  for (const f of sources(['.c'])) {
    if (f.startsWith('tests/') || f.endsWith('_test.c')) continue;
    for (const m of read(f).matchAll(/"(KEYPORT_[A-Z0-9_]+)"/g)) {
      if (!m[1].includes('__')) names.add(m[1]);
    }
  }
  return names;
}

// Routes of the gateway: every `static const gw_route x[] = {...}` array in
// gateway/routes_*.c, as {file, method, pattern, access}.
export function gatewayRoutes() {
  const out = [];
  const dir = join(root, 'gateway');
  for (const f of readdirSync(dir).sort()) {
    if (!/^routes_.*\.c$/.test(f)) continue;
    const src = read(`gateway/${f}`).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const arr of src.matchAll(/gw_route\s+\w+\s*\[\s*\]\s*=\s*\{([\s\S]*?)\n\s*\}\s*;/g)) {
      for (const m of arr[1].matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)/g)) {
        out.push({ file: `gateway/${f}`, method: m[1], pattern: m[2], access: m[3] });
      }
    }
  }
  return out;
}

// ---- deployment files (compose, k8s) ----------------------------------------
export const SERVICES = ['auth', 'org', 'license', 'activation', 'release'];
export const BINARIES = ['gateway', ...SERVICES].map((s) => `keyport-${s}`);

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
  // KEYPORT_<NAME>_FILE: the value from a file (kp_config_load)
  for (const n of [...names]) names.add(`${n}_FILE`);
  return names;
}
export const KNOWN = knownEnv();

// Default service addresses from common/kp_services.def: {service: port}.
function defaultPorts() {
  const out = {};
  for (const m of read('common/kp_services.def').matchAll(/^KP_SERVICE\(\w+, "(\w+)", (\d+)\)/gm))
    out[m[1]] = Number(m[2]);
  return out;
}
export const PORTS = defaultPorts();

export const urlParts = (u) => {
  const m = /^(?:tls\+)?tcp:\/\/([^:/]+):(\d+)$/.exec(u.trim());
  if (!m) throw new Error(`not a tls+tcp://host:port address: ${u}`);
  return { host: m[1], port: Number(m[2]) };
};

