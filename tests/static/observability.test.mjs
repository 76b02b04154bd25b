// deploy/observability: every metric the alert rules and the Grafana
// dashboard name is one the processes expose (a kp_metrics_family in the C
// sources, a histogram with its _bucket/_sum/_count), so a renamed metric
// cannot leave a silent panel or an alert that never fires. `make lint`
// also runs `promtool check rules` on the rules (scripts/lint.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { read, root, yamlFile } from './lib.mjs';

function exposed() {
  const names = new Set(['up']); // Prometheus's own, per scrape target
  for (const dir of ['common', 'gateway']) {
    for (const f of readdirSync(join(root, dir))) {
      if (!f.endsWith('.c')) continue;
      const src = read(`${dir}/${f}`);
      for (const m of src.matchAll(/kp_metrics_family\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)",\s*KP_METRIC_(\w+)/g)) {
        names.add(m[1]);
        if (m[2] === 'HISTOGRAM') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s);
      }
    }
  }
  return names;
}

// The metric names of a PromQL expression: identifiers in Keyport's and the
// process's namespaces, and `up`.
function used(expr) {
  const out = [];
  for (const m of expr.matchAll(/\b(keyport_[a-z0-9_]+|process_[a-z0-9_]+|up)\b(?=\s*[{[)\s]|$)/g)) out.push(m[1]);
  return out;
}

const names = exposed();

test('the processes expose the families the docs promise', () => {
  for (const n of ['keyport_build_info', 'process_cpu_seconds_total', 'keyport_http_requests_total',
    'keyport_rpc_server_requests_total', 'keyport_db_connections_in_use', 'keyport_rpc_peer_connected',
    'keyport_activation_outcomes_total']) assert.ok(names.has(n), n);
});

test('every metric of the alert rules is exposed', () => {
  const rules = yamlFile('deploy/observability/alerts.yaml');
  let n = 0;
  for (const g of rules.groups) for (const r of g.rules) {
    const u = used(r.expr);
    assert.ok(u.length > 0, `${r.alert}: names no metric`);
    for (const m of u) assert.ok(names.has(m), `${r.alert}: ${m} is not exposed`);
    n++;
  }
  assert.ok(n >= 4);
});

test('every metric of the dashboard is exposed', () => {
  const dash = JSON.parse(read('deploy/observability/grafana-dashboard.json'));
  const exprs = [];
  const walk = (p) => {
    for (const t of p.targets || []) exprs.push([p.title, t.expr]);
    for (const c of p.panels || []) walk(c);
  };
  dash.panels.forEach(walk);
  for (const v of dash.templating.list) if (v.query && typeof v.query === 'string' && v.type === 'query') exprs.push([v.name, v.query]);
  assert.ok(exprs.length >= 10);
  for (const [title, e] of exprs) for (const m of used(e)) assert.ok(names.has(m), `${title}: ${m} is not exposed`);
});

test('the scrape configuration names every process on its metrics port', () => {
  const cfg = yamlFile('deploy/observability/prometheus.yaml');
  const jobs = Object.fromEntries(cfg.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]));
  const ports = { gateway: 9100, auth: 9101, org: 9102, license: 9103, activation: 9104, release: 9105 };
  for (const [p, port] of Object.entries(ports)) {
    assert.ok(jobs[`keyport-${p}`], `keyport-${p}`);
    for (const t of jobs[`keyport-${p}`]) assert.ok(t.endsWith(`:${port}`), t);
  }
  const def = read('common/kp_config.def');
  for (const [p, port] of Object.entries(ports))
    assert.match(def, new RegExp(`KP_CFG\\(${p.toUpperCase()}_METRICS_PORT, INT, "${port}"`));
});
