// Helpers of the Kubernetes checks (k8s.test.mjs, cnpg.test.mjs,
// k8s-init.test.mjs): rendering with `kubectl kustomize`, the Kubernetes
// schemas (kubernetes-models), the CloudNativePG rules, a NetworkPolicy
// evaluator and the Secrets scripts/k8s-init.sh writes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { root } from './lib.mjs';

// The kustomizations of k8s/: the base (not applied alone) and the overlays
// an operator applies.
export const BASE = 'k8s/base';
export const OVERLAYS = ['k8s/overlays/dev', 'k8s/overlays/production', 'k8s/overlays/external-db'];

export function parseDocs(text, what) {
  const out = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`${what}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) out.push(o);
  }
  return out;
}

// `kubectl kustomize dir`: {ok, err, objects}.
export function kustomize(dir) {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error) throw new Error(`kubectl kustomize: ${r.error.message} (kubectl with kustomize v5 is needed)`);
  return { ok: r.status === 0, err: r.stderr, objects: r.status === 0 ? parseDocs(r.stdout, dir) : [] };
}

const cache = new Map();
export function render(rel) {
  if (!cache.has(rel)) {
    const r = kustomize(join(root, rel));
    if (!r.ok) throw new Error(`kubectl kustomize ${rel}: ${r.err}`);
    cache.set(rel, r.objects);
  }
  return structuredClone(cache.get(rel));
}

export const id = (o) => `${o.kind}/${o.metadata?.name}`;
export const ofKind = (objs, kind) => objs.filter((o) => o.kind === kind);
export const workloads = (objs) => objs.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
export const keyportWorkloads = (objs) =>
  workloads(objs).filter((w) => w.spec.template.spec.containers.some((c) => c.command?.[0]?.startsWith('keyport-')));
export const named = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);

// ---- Kubernetes schemas (kubernetes-models, offline) --------------------
export const CNPG_GROUP = 'postgresql.cnpg.io';

// Throws unless obj is a known Kubernetes kind valid against its schema.
// CloudNativePG's kinds are checked by cnpgErrors instead.
export async function validateK8s(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
  let mod;
  try {
    mod = await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`);
  } catch {
    throw new Error(`${id(obj)}: no schema for ${obj.apiVersion} ${obj.kind}`);
  }
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`${id(obj)}: no model ${obj.kind}`);
  new Model(obj).validate();
}

// ---- CloudNativePG -------------------------------------------------------
// What the operator's documentation requires of a Cluster and a Pooler
// (cloudnative-pg docs: "Bootstrap", "PostgreSQL Configuration",
// "Connection Pooling", API reference):
//   Cluster  spec.instances an integer >= 1; spec.storage.size (or a
//            pvcTemplate); bootstrap.initdb: owner with database, its
//            secret a kubernetes.io/basic-auth Secret with username (the
//            owner) and password; postgresql.parameters values strings and
//            none of the fixed ones the operator refuses
//   Pooler   spec.cluster.name a Cluster of the same namespace whose name
//            differs from the Pooler's; type rw, ro or r; instances an
//            integer >= 0; pgbouncer.poolMode session or transaction;
//            pgbouncer.parameters among the options the operator lets
//            users set, values strings; a template's spec.containers
//            present (a required PodSpec field, [] when unchanged)
export const CNPG_FIXED_PARAMETERS = [
  'allow_system_table_mods', 'archive_cleanup_command', 'archive_command', 'archive_mode',
  'archive_timeout', 'bonjour', 'bonjour_name', 'cluster_name', 'config_file', 'data_directory',
  'data_sync_retry', 'event_source', 'external_pid_file', 'full_page_writes', 'hba_file',
  'hot_standby', 'huge_pages', 'ident_file', 'jit_provider', 'listen_addresses',
  'log_destination', 'log_directory', 'log_file_mode', 'log_filename', 'log_rotation_age',
  'log_rotation_size', 'log_truncate_on_rotation', 'logging_collector', 'port',
  'primary_conninfo', 'primary_slot_name', 'promote_trigger_file', 'recovery_end_command',
  'recovery_min_apply_delay', 'recovery_target', 'recovery_target_action',
  'recovery_target_inclusive', 'recovery_target_lsn', 'recovery_target_name',
  'recovery_target_time', 'recovery_target_timeline', 'recovery_target_xid', 'restart_after_crash',
  'restore_command', 'shared_preload_libraries', 'ssl', 'ssl_ca_file', 'ssl_cert_file',
  'ssl_ciphers', 'ssl_crl_file', 'ssl_dh_params_file', 'ssl_ecdh_curve', 'ssl_key_file',
  'ssl_max_protocol_version', 'ssl_min_protocol_version', 'ssl_passphrase_command',
  'ssl_passphrase_command_supports_reload', 'ssl_prefer_server_ciphers', 'stats_temp_directory',
  'synchronous_standby_names', 'syslog_facility', 'syslog_ident', 'syslog_sequence_numbers',
  'syslog_split_messages', 'unix_socket_directories', 'unix_socket_group', 'unix_socket_permissions',
  'wal_level', 'wal_log_hints',
];
export const CNPG_POOLER_PARAMETERS = [
  'application_name_add_host', 'autodb_idle_timeout', 'client_idle_timeout', 'client_login_timeout',
  'default_pool_size', 'disable_pqexec', 'idle_transaction_timeout', 'ignore_startup_parameters',
  'log_connections', 'log_disconnections', 'log_pooler_errors', 'log_stats', 'max_client_conn',
  'max_db_connections', 'max_user_connections', 'min_pool_size', 'query_timeout', 'query_wait_timeout',
  'reserve_pool_size', 'reserve_pool_timeout', 'server_check_delay', 'server_check_query',
  'server_connect_timeout', 'server_fast_close', 'server_idle_timeout', 'server_lifetime',
  'server_login_retry', 'server_reset_query', 'server_reset_query_always', 'server_round_robin',
  'stats_period', 'verbose',
];
const isInt = (v) => Number.isInteger(v);
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// The CloudNativePG objects of objs checked against those rules; secrets
// (name -> {type, keys}) are the Secrets that will exist (k8s-init.sh's).
// Returns a list of errors (empty: fine).
export function cnpgErrors(objs, secrets) {
  const errs = [];
  const e = (o, msg) => errs.push(`${id(o)}: ${msg}`);
  const clusters = objs.filter((o) => o.apiVersion === `${CNPG_GROUP}/v1` && o.kind === 'Cluster');
  for (const o of objs) {
    if (!o.apiVersion?.startsWith(`${CNPG_GROUP}/`)) continue;
    if (o.apiVersion !== `${CNPG_GROUP}/v1`) e(o, `apiVersion ${o.apiVersion} (postgresql.cnpg.io/v1)`);
    if (!['Cluster', 'Pooler'].includes(o.kind)) e(o, 'unknown CloudNativePG kind');
    if (!DNS1123.test(o.metadata?.name ?? '')) e(o, 'name is not a DNS-1123 label');
    const s = o.spec ?? {};
    if (o.kind === 'Cluster') {
      if (!isInt(s.instances) || s.instances < 1) e(o, 'spec.instances must be an integer >= 1');
      if (!s.storage?.size && !s.storage?.pvcTemplate) e(o, 'spec.storage.size is required');
      if (s.storage?.size && !/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(String(s.storage.size)))
        e(o, `spec.storage.size ${s.storage.size} is not a quantity`);
      const methods = Object.keys(s.bootstrap ?? {});
      if (methods.length > 1) e(o, `one bootstrap method, not ${methods.join(', ')}`);
      const init = s.bootstrap?.initdb;
      if (init) {
        if (init.owner && !init.database) e(o, 'bootstrap.initdb.owner needs database');
        if (init.owner === 'postgres' || init.database === 'postgres') e(o, 'the application owner/database may not be postgres');
        if (init.secret) {
          const sec = secrets[init.secret.name];
          if (!sec) e(o, `bootstrap.initdb.secret ${init.secret.name} is not made`);
          else {
            if (sec.type !== 'kubernetes.io/basic-auth') e(o, `secret ${init.secret.name} must be kubernetes.io/basic-auth`);
            for (const k of ['username', 'password']) if (!sec.keys.includes(k)) e(o, `secret ${init.secret.name} lacks ${k}`);
            if (sec.values?.username !== undefined && sec.values.username !== (init.owner ?? init.database))
              e(o, `secret ${init.secret.name}: username ${sec.values.username} is not the owner ${init.owner}`);
          }
        }
      }
      for (const [k, v] of Object.entries(s.postgresql?.parameters ?? {})) {
        if (typeof v !== 'string') e(o, `postgresql.parameters.${k} must be a string`);
        if (CNPG_FIXED_PARAMETERS.includes(k)) e(o, `postgresql.parameters.${k} is fixed by the operator`);
      }
      if (s.primaryUpdateStrategy && !['unsupervised', 'supervised'].includes(s.primaryUpdateStrategy))
        e(o, `primaryUpdateStrategy ${s.primaryUpdateStrategy}`);
      if (s.affinity?.podAntiAffinityType && !['preferred', 'required'].includes(s.affinity.podAntiAffinityType))
        e(o, `affinity.podAntiAffinityType ${s.affinity.podAntiAffinityType}`);
    }
    if (o.kind === 'Pooler') {
      const c = clusters.find((x) => x.metadata.name === s.cluster?.name && x.metadata.namespace === o.metadata.namespace);
      if (!s.cluster?.name) e(o, 'spec.cluster.name is required');
      else if (!c) e(o, `spec.cluster.name ${s.cluster.name}: no Cluster of that name in namespace ${o.metadata.namespace}`);
      if (clusters.some((x) => x.metadata.name === o.metadata.name)) e(o, 'a Pooler may not have the name of a Cluster');
      if (!['rw', 'ro', 'r'].includes(s.type ?? 'rw')) e(o, `spec.type ${s.type} (rw, ro or r)`);
      if (s.instances !== undefined && (!isInt(s.instances) || s.instances < 0)) e(o, 'spec.instances must be an integer >= 0');
      if (!s.pgbouncer) e(o, 'spec.pgbouncer is required');
      if (!['session', 'transaction'].includes(s.pgbouncer?.poolMode ?? 'session'))
        e(o, `pgbouncer.poolMode ${s.pgbouncer.poolMode} (session or transaction)`);
      for (const [k, v] of Object.entries(s.pgbouncer?.parameters ?? {})) {
        if (!CNPG_POOLER_PARAMETERS.includes(k)) e(o, `pgbouncer.parameters.${k} is not one the operator lets users set`);
        if (typeof v !== 'string') e(o, `pgbouncer.parameters.${k} must be a string`);
      }
      if (s.template && !Array.isArray(s.template.spec?.containers)) e(o, 'template.spec.containers is required ([] when unchanged)');
    }
  }
  return errs;
}

// ---- NetworkPolicy ---------------------------------------------------------
// Whether a pod (namespace, labels) may open a TCP connection to port of a
// pod of namespace ns with labels dst, under the policies (ingress only:
// the manifests restrict no egress). namespaces: name -> labels.
const selects = (sel, labels) => {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const x of sel.matchExpressions ?? []) {
    const has = x.key in labels;
    if (x.operator === 'In' && !(has && x.values.includes(labels[x.key]))) return false;
    if (x.operator === 'NotIn' && has && x.values.includes(labels[x.key])) return false;
    if (x.operator === 'Exists' && !has) return false;
    if (x.operator === 'DoesNotExist' && has) return false;
  }
  return true;
};
export function allowed(policies, src, dst, port) {
  const nsLabels = (ns) => ({ 'kubernetes.io/metadata.name': ns });
  const applying = policies.filter((p) => p.metadata.namespace === dst.namespace &&
    (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') && selects(p.spec.podSelector, dst.labels));
  if (applying.length === 0) return true;
  return applying.some((p) => (p.spec.ingress ?? []).some((rule) => {
    const portOk = !rule.ports || rule.ports.some((q) => q.port === port && (q.protocol ?? 'TCP') === 'TCP');
    const fromOk = !rule.from || rule.from.some((f) => {
      if (f.ipBlock) return false;
      if (f.namespaceSelector) {
        if (!selects(f.namespaceSelector, nsLabels(src.namespace))) return false;
        return f.podSelector ? selects(f.podSelector, src.labels) : true;
      }
      return src.namespace === p.metadata.namespace && selects(f.podSelector, src.labels);
    });
    return portOk && fromOk;
  }));
}

// ---- scripts/k8s-init.sh -------------------------------------------------
// Runs k8s-init.sh init into a fresh directory; returns {dir, secrets:
// name -> {type, keys, values (decoded), raw (Buffer per key)}, objects,
// cleanup}.
export function k8sInit(args = ['--admin-email', 'ops@vendor.example'], dir = null) {
  const d = dir ?? join(mkdtempSync(join(tmpdir(), 'kp-k8s-init-')), 'init');
  const r = spawnSync(join(root, 'scripts/k8s-init.sh'), ['init', d, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`k8s-init.sh: ${r.stderr}`);
  return { ...readInit(d), cleanup: () => rmSync(join(d, '..'), { recursive: true, force: true }) };
}

export function readInit(d) {
  const objects = parseDocs(readFileSync(join(d, 'secrets.yaml'), 'utf8'), 'secrets.yaml');
  const secrets = {};
  for (const s of objects) {
    const raw = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    secrets[s.metadata.name] = {
      type: s.type, keys: Object.keys(raw), raw,
      values: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.toString('utf8')])),
    };
  }
  return { dir: d, objects, secrets };
}
