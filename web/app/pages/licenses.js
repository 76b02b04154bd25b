// Licenses: every license the caller can see (an organization admin: the
// whole organization's). Filters, search, sort and page live in the URL.
// Without a filter the API pages (page/limit/total); with one, the portal
// reads the caller's whole list (pages of 100) and filters it here, since
// GET /v1/me/licenses takes no filters.
import { html, useState, useEffect, useRef, shell, setTitle, Link, CopyButton, StatusBadge, Usage, When, Alert, SkeletonRows, PageHeader, Field, Icon, errorText, fmtNum, plural } from '../ui.js';
import { api, apiAll } from '../api.js';

const SORTS = {
  '': 'Newest first',
  expires: 'Expires soonest',
  '-expires': 'Expires latest',
  '-used': 'Most activations used',
  used: 'Fewest activations used',
};
const LIMITS = [10, 25, 50, 100];
const DEFAULT_LIMIT = 25;

function readQuery(search) {
  const q = new URLSearchParams(search);
  const limit = parseInt(q.get('limit') || '', 10);
  return {
    status: q.get('status') || '',
    product: q.get('product') || '',
    q: q.get('q') || '',
    sort: SORTS[q.get('sort') || ''] ? q.get('sort') || '' : '',
    page: Math.max(1, parseInt(q.get('page') || '1', 10) || 1),
    limit: LIMITS.includes(limit) ? limit : DEFAULT_LIMIT,
  };
}

function toSearch(f) {
  const q = new URLSearchParams();
  if (f.status) q.set('status', f.status);
  if (f.product) q.set('product', f.product);
  if (f.q) q.set('q', f.q);
  if (f.sort) q.set('sort', f.sort);
  if (f.page > 1) q.set('page', String(f.page));
  if (f.limit !== DEFAULT_LIMIT) q.set('limit', String(f.limit));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const expiry = (l) => (l.expiresAt ? new Date(l.expiresAt).getTime() : Infinity);
const used = (l) => l.activeActivations;
const cmp = {
  expires: (a, b) => expiry(a) - expiry(b),
  '-expires': (a, b) => expiry(b) - expiry(a),
  '-used': (a, b) => used(b) - used(a),
  used: (a, b) => used(a) - used(b),
};

export function filterLicenses(all, f) {
  const needle = f.q.trim().toLowerCase();
  let out = all.filter((l) => (!f.status || l.status === f.status) && (!f.product || l.productId === f.product) && (!needle || l.key.toLowerCase().includes(needle)));
  if (cmp[f.sort]) out = out.slice().sort(cmp[f.sort]);
  return out;
}

export function LicenseRows({ items, holders }) {
  return items.map(
    (l) => html`<tr key=${l.id}>
      <td class="cell-primary" data-label="Key"><div class="key-line"><${Link} class="row-link key" href=${`/licenses/${l.id}`} aria-label=${`License ${l.key}`}>${l.key}<//><${CopyButton} text=${l.key} label="Copy key" /></div>${holders && html`<span class="cell-sub">${holders[l.userId] ? `Assigned to ${holders[l.userId]}` : l.userId ? 'Assigned to a former user' : 'Not assigned to a user'}</span>`}</td>
      <td data-label="Product and type"><span>${l.productName}<span class="cell-sub nowrap">${l.type === 'hosted-floating' ? 'Floating' : 'Node-locked'}</span></span></td>
      <td data-label="Status"><${StatusBadge} status=${l.status} /></td>
      <td data-label="Seats in use"><${Usage} used=${l.activeActivations} allowed=${l.allowedActivations} what="activations" /></td>
      <td data-label="Seat releases"><${Usage} used=${l.totalDeactivations} allowed=${l.allowedDeactivations} what="deactivations" /></td>
      <td data-label="Expires"><${When} iso=${l.expiresAt} never=${l.validity && l.expirationStrategy === 'delayed' ? 'after first activation' : 'never'} /></td>
    </tr>`,
  );
}

export default function Licenses({ search }) {
  const f = readQuery(search);
  const admin = shell.me.role === 'organization-admin';
  const [data, setData] = useState(null); // {items,total}
  const [all, setAll] = useState(null);
  const [holders, setHolders] = useState(null);
  const [error, setError] = useState(null);
  const [q, setQ] = useState(f.q);
  const measured = useRef(false);
  const filtered = !!(f.status || f.product || f.q || f.sort);

  useEffect(() => setTitle('Licenses'), []);
  useEffect(() => {
    let live = true;
    setError(null);
    const done = (d) => {
      if (!live) return;
      performance.mark('licenses-data');
      measured.current = false;
      setData(d);
    };
    if (filtered) {
      (all ? Promise.resolve(all) : apiAll('/v1/me/licenses'))
        .then((items) => {
          if (!live) return;
          if (!all) setAll(items);
          const rows = filterLicenses(items, f);
          done({ items: rows.slice((f.page - 1) * f.limit, f.page * f.limit), total: rows.length });
        })
        .catch((e) => live && setError(errorText(e)));
    } else {
      api('GET', '/v1/me/licenses', { query: { page: f.page, limit: f.limit } })
        .then((r) => done({ items: r.items, total: r.total }))
        .catch((e) => live && setError(errorText(e)));
    }
    return () => {
      live = false;
    };
  }, [search, filtered ? all : 0]);

  // the product filter's choices: every product of the caller's licenses
  useEffect(() => {
    if (!all) apiAll('/v1/me/licenses').then(setAll, () => {});
    if (admin) {
      apiAll('/v1/organization/users').then((us) => {
        const m = {};
        for (const u of us) m[u.id] = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.email;
        setHolders(m);
      }, () => setHolders({}));
    }
  }, []);

  // the time from the API's answer to the rendered page (docs/portal.md)
  useEffect(() => {
    if (data && !measured.current) {
      measured.current = true;
      requestAnimationFrame(() => {
        performance.measure('licenses-render', 'licenses-data');
        document.body.dataset.licensesRendered = String(Date.now());
      });
    }
  }, [data]);

  const go = (patch, replace) => {
    const next = { ...f, ...patch };
    if (!('page' in patch)) next.page = 1;
    const url = `/licenses${toSearch(next)}`;
    if (replace) {
      history.replaceState(null, '', url);
      dispatchEvent(new PopStateEvent('popstate'));
    } else shell.navigate(url);
  };
  const searchTimer = useRef(0);
  const onSearch = (e) => {
    setQ(e.target.value);
    clearTimeout(searchTimer.current);
    const v = e.target.value;
    searchTimer.current = setTimeout(() => go({ q: v }, true), 250);
  };

  const products = [];
  if (all) {
    const seen = new Set();
    for (const l of all) {
      if (!seen.has(l.productId)) {
        seen.add(l.productId);
        products.push([l.productId, l.productName]);
      }
    }
    products.sort((a, b) => a[1].localeCompare(b[1]));
  }
  const total = data ? data.total : 0;
  const pages = Math.max(1, Math.ceil(total / f.limit));
  const from = total ? (f.page - 1) * f.limit + 1 : 0;
  const to = Math.min(total, f.page * f.limit);
  const cols = 6;
  const orgName = shell.org ? shell.org.name : 'your organization';

  return html`<${PageHeader} title="Licenses" sub=${admin ? `Every license of ${orgName}.` : 'Your licenses and those of your groups.'} />
  <${Alert}>${error}<//>
  <section class="card" aria-label="Licenses">
    <form class="toolbar" role="search" onSubmit=${(e) => {
      e.preventDefault();
      go({ q });
    }}>
      <div class="field field-search"><label for="lic-search">Search by key</label>
        <input id="lic-search" type="search" placeholder="e.g. 7KQ2-…" value=${q} onInput=${onSearch} autocomplete="off" spellcheck="false" /></div>
      <div class="field"><label for="lic-status">Status</label>
        <select id="lic-status" value=${f.status} onChange=${(e) => go({ status: e.target.value })}>
          <option value="">All statuses</option><option value="active">Active</option><option value="expired">Expired</option><option value="suspended">Suspended</option><option value="revoked">Revoked</option>
        </select></div>
      <div class="field"><label for="lic-product">Product</label>
        <select id="lic-product" value=${f.product} onChange=${(e) => go({ product: e.target.value })}>
          <option value="">All products</option>${products.map(([id, name]) => html`<option value=${id}>${name}</option>`)}
        </select></div>
      <div class="field"><label for="lic-sort">Sort by</label>
        <select id="lic-sort" value=${f.sort} onChange=${(e) => go({ sort: e.target.value })}>
          ${Object.entries(SORTS).map(([v, t]) => html`<option value=${v}>${t}</option>`)}
        </select></div>
    </form>
    ${data && data.items.length === 0
      ? html`<div class="empty">
          <${Icon} name="key" />
          ${filtered
            ? html`<h2>No licenses match</h2><p>No license matches these filters.</p><p><button type="button" class="btn" onClick=${() => shell.navigate('/licenses')}>Clear filters</button></p>`
            : html`<h2>No licenses yet</h2><p>${admin ? `${orgName} holds no licenses yet. Contact ${shell.branding.portalName} to get one.` : "No licenses are assigned to you or to your groups yet. Ask your organization's administrator."}</p>`}
        </div>`
      : html`<div class="table-wrap"><table class="data stack">
          <caption class="sr-only">Licenses${data ? `, ${from} to ${to} of ${total}` : ''}</caption>
          <thead><tr><th scope="col">Key</th><th scope="col">Product and type</th><th scope="col">Status</th><th scope="col">Seats in use</th><th scope="col">Seat releases</th><th scope="col">Expires</th></tr></thead>
          <tbody aria-busy=${data ? 'false' : 'true'}>${data ? html`<${LicenseRows} items=${data.items} holders=${admin ? holders : null} />` : html`<${SkeletonRows} rows=${6} cols=${cols} />`}</tbody>
        </table></div>`}
    ${data && total > 0 && html`<nav class="pager" aria-label="Pages">
      <span aria-live="polite">${fmtNum(from)}–${fmtNum(to)} of ${plural(total, 'license')}</span>
      <div class="pager-buttons">
        <div class="field"><label for="lic-limit">Per page</label>
          <select id="lic-limit" value=${String(f.limit)} onChange=${(e) => go({ limit: parseInt(e.target.value, 10) })}>${LIMITS.map((n) => html`<option value=${String(n)}>${n}</option>`)}</select></div>
        <button type="button" class="btn btn-sm" disabled=${f.page <= 1} onClick=${() => go({ page: f.page - 1 })}><${Icon} name="back" />Previous</button>
        <span>Page ${fmtNum(f.page)} of ${fmtNum(pages)}</span>
        <button type="button" class="btn btn-sm" disabled=${f.page >= pages} onClick=${() => go({ page: f.page + 1 })}>Next<${Icon} name="next" /></button>
      </div>
    </nav>`}
  </section>`;
}
