// Releases: what the caller may download, grouped by product, newest first.
// A download asks for a signed link (POST .../download-url) and follows it.
import { html, useState, useEffect, setTitle, CopyButton, Alert, Loading, Icon, PageHeader, errorText, fmtBytes, fmtDate, When } from '../ui.js';
import { api } from '../api.js';

function FileRow({ rel, file }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setError(null);
    setBusy(true);
    try {
      const r = await api('POST', `/v1/releases/${rel.id}/files/${file.id}/download-url`, { body: {} });
      location.assign(r.url);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return html`<li class="file">
    <div class="file-main">
      <div class="file-name"><${Icon} name="file" /> ${file.name} <span class="muted">· ${fmtBytes(file.size)}</span></div>
      <div class="sha"><span title=${file.sha256}>sha256 ${file.sha256}</span><${CopyButton} text=${file.sha256} label=${`Copy the sha256 of ${file.name}`} /></div>
      ${error && html`<${Alert}>${error}<//>`}
    </div>
    <button type="button" class="btn btn-primary" onClick=${download} disabled=${busy} aria-label=${`Download ${file.name}`}><${Icon} name="download" />Download</button>
  </li>`;
}

export function groupReleases(items) {
  const byProduct = new Map();
  for (const r of items) {
    if (!byProduct.has(r.productId)) byProduct.set(r.productId, { name: r.productName, releases: [] });
    byProduct.get(r.productId).releases.push(r);
  }
  const groups = [...byProduct.values()];
  for (const g of groups) g.releases.sort((a, b) => new Date(b.publishedAt) - new Date(a.publishedAt));
  groups.sort((a, b) => a.name.localeCompare(b.name));
  return groups;
}

export default function Releases() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setTitle('Releases');
    (async () => {
      const all = [];
      for (let page = 1; page <= 20; page++) {
        const r = await api('GET', '/v1/me/releases', { query: { page, limit: 100 } });
        const got = Array.isArray(r) ? r : r.items || [];
        all.push(...got);
        if (Array.isArray(r) || all.length >= (r.total || 0) || got.length === 0) break;
      }
      return all;
    })().then(setItems, (e) => setError(errorText(e)));
  }, []);
  const head = html`<${PageHeader} title="Releases" sub="Builds of the products you hold a license for." />`;
  if (error) return html`${head}<${Alert}>${error}<//>`;
  if (!items) return html`${head}<${Loading} label="Loading releases…" />`;
  if (items.length === 0) {
    return html`${head}<div class="card"><div class="empty"><${Icon} name="package" /><h2>No releases yet</h2><p>When a product you hold a license for has a published release, it appears here.</p></div></div>`;
  }
  return html`${head}${groupReleases(items).map(
    (g) => html`<section class="card" aria-label=${g.name}>
      <div class="card-head"><h2>${g.name}</h2><span class="muted">${g.releases.length} ${g.releases.length === 1 ? 'release' : 'releases'}</span></div>
      ${g.releases.map(
        (r, i) => html`<article class="release" aria-labelledby=${`rel-${r.id}`}>
          <div class="release-head"><h3 id=${`rel-${r.id}`}>${r.name || g.name} ${r.version}</h3>
            ${i === 0 && html`<span class="badge badge-accent">Latest</span>`}
            <span class="badge badge-plain">${r.channel}</span><span class="badge badge-plain">${r.platform}</span></div>
          <div class="release-meta">Published <${When} iso=${r.publishedAt} /> · ${fmtDate(r.publishedAt)}</div>
          ${r.notes && html`<div class="notes">${r.notes}</div>`}
          <ul class="files">${(r.files || []).map((f) => html`<${FileRow} rel=${r} file=${f} />`)}</ul>
        </article>`,
      )}
    </section>`,
  )}`;
}
