// Shared pieces of every page: the view library, formatting in the
// browser's locale, the words for the API's errors, and small components
// (copy button, status badge, usage bar, dialogs, live announcements).
import { h, render, Fragment, createRef } from '../vendor/preact@11.2.0/preact.mjs';
import { useState, useEffect, useRef, useCallback, useMemo } from '../vendor/preact@11.2.0/hooks.mjs';
import htm from '../vendor/htm@3.1.1/htm.mjs';

export const html = htm.bind(h);
export { h, render, Fragment, createRef, useState, useEffect, useRef, useCallback, useMemo };

// ---- the shell's shared state (set by main.js) --------------------------
export const shell = {
  branding: { portalName: 'Keyport', logoUrl: null },
  me: null,
  org: null,
  navigate: (to) => {
    history.pushState(null, '', to);
    dispatchEvent(new PopStateEvent('popstate'));
  },
};

export function setTitle(page) {
  shell.pageTitle = page;
  document.title = page ? `${page} · ${shell.branding.portalName}` : shell.branding.portalName;
}

// ---- formatting ---------------------------------------------------------
const locale = navigator.language || 'en';
const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
const numFmt = new Intl.NumberFormat(locale);

export const fmtDate = (iso) => (iso ? dateFmt.format(new Date(iso)) : '');
export const fmtDateTime = (iso) => (iso ? dateTimeFmt.format(new Date(iso)) : '');
export const fmtNum = (n) => numFmt.format(n);

// "in 23 days", "3 hours ago": the largest unit that fits.
export function fmtRelative(iso, now = Date.now()) {
  const s = (new Date(iso).getTime() - now) / 1000;
  const a = Math.abs(s);
  const units = [
    ['year', 365 * 86400],
    ['month', 30 * 86400],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [u, sec] of units) {
    if (a >= sec) return rtf.format(Math.round(s / sec), u);
  }
  return rtf.format(0, 'minute');
}

export function fmtBytes(n) {
  const u = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: i ? 1 : 0 }).format(v)} ${u[i]}`;
}

// A validity in seconds as words: "1 year", "30 days", "perpetual".
export function fmtDuration(sec) {
  if (!sec) return 'perpetual';
  const d = Math.round(sec / 86400);
  if (d >= 365 && d % 365 === 0) return plural(d / 365, 'year');
  if (d >= 1) return plural(d, 'day');
  const hrs = Math.round(sec / 3600);
  if (hrs >= 1) return plural(hrs, 'hour');
  return plural(Math.round(sec / 60), 'minute');
}

export const plural = (n, w) => `${fmtNum(n)} ${w}${n === 1 ? '' : 's'}`;

// <time> with the relative form shown and the absolute one on hover and for
// screen readers.
export function When({ iso, never = 'never' }) {
  if (!iso) return html`<span class="muted">${never}</span>`;
  const abs = fmtDateTime(iso);
  return html`<time datetime=${iso} title=${abs}>${fmtRelative(iso)}<span class="sr-only"> (${abs})</span></time>`;
}

// ---- errors --------------------------------------------------------------
// errorText(err, ctx): the sentence for an ApiError. ctx may give vendor,
// seats, users, license (for the status sentences).
export function errorText(err, ctx = {}) {
  const vendor = ctx.vendor || shell.branding.portalName;
  const n = (v) => (v === undefined || v === null || v < 0 ? '' : fmtNum(v) + ' ');
  switch (err.code) {
    case 'UNAUTHENTICATED':
      return ctx.signIn ? "That email and password don't match." : 'Your session has ended. Sign in again.';
    case 'RATE_LIMITED': {
      const min = Math.max(1, Math.ceil((err.retryAfter || 60) / 60));
      return `Too many attempts. Try again in ${plural(min, 'minute')}.`;
    }
    case 'ACTIVATION_LIMIT_REACHED':
      return `All ${n(ctx.seats)}seats of this license are in use. Free a seat first.`;
    case 'DEACTIVATION_LIMIT_REACHED':
      return `This license allows no more seat releases. Contact ${vendor}.`;
    case 'USER_LIMIT_REACHED':
      return `Your organization has reached its ${n(ctx.users)}users.`;
    case 'EMAIL_TAKEN':
      return 'Another account uses this email.';
    case 'LICENSE_SUSPENDED':
      return `This license is suspended, so it cannot be used until it is reinstated. Contact ${vendor}.`;
    case 'LICENSE_REVOKED':
      return `This license was revoked and can no longer be used. Contact ${vendor}.`;
    case 'LICENSE_EXPIRED':
      return `This license has expired. Contact ${vendor} to renew it.`;
    case 'OFFLINE_MALFORMED':
      return 'This is not a Keyport activation request file.';
    case 'OFFLINE_ALTERED':
    case 'OFFLINE_FORGED':
      return 'This file was changed after it was made. Create a new one.';
    case 'OFFLINE_KEY_MISMATCH':
      return 'This request is for another license.';
    case 'OFFLINE_EXPIRED':
      return 'This request is too old. Create a new one on the machine.';
    case 'OFFLINE_REPLAYED':
      return 'This file was already used.';
    case 'OFFLINE_UNSUPPORTED_VERSION':
      return 'Update the application that made this file.';
    case 'SERVICE_UNAVAILABLE':
      return 'Keyport is busy or restarting. Try again in a moment.';
    case 'PAYLOAD_TOO_LARGE':
      return 'This file is too large.';
    case 'NOT_FOUND':
      return ctx.notFound || `${err.message || 'Not found'}${err.requestId ? ` (request id ${err.requestId})` : ''}`;
    default: {
      const msg = err.message ? err.message.charAt(0).toUpperCase() + err.message.slice(1) : 'Something went wrong';
      return `${msg.replace(/\.?$/, '.')}${err.requestId ? ` (request id ${err.requestId})` : ''}`;
    }
  }
}

// ---- announcements (one polite live region in the shell) ----------------
let announceFn = () => {};
export function announce(msg) {
  announceFn(msg);
}
export function LiveRegion() {
  const [msg, setMsg] = useState('');
  useEffect(() => {
    let t = 0;
    announceFn = (m) => {
      setMsg('');
      clearTimeout(t);
      // a fresh text node each time, so the same words are read again
      requestAnimationFrame(() => setMsg(m));
      t = setTimeout(() => setMsg(''), 6000);
    };
    return () => clearTimeout(t);
  }, []);
  return html`<div class="toast" role="status" aria-live="polite" aria-atomic="true">${msg && html`<p class="toast-msg">${msg}</p>`}</div>`;
}

// ---- small components ----------------------------------------------------
export function Icon({ name, label }) {
  return html`<svg class="icon" aria-hidden=${label ? undefined : 'true'} role=${label ? 'img' : undefined} aria-label=${label}><use href=${`/app/icons.svg#${name}`} /></svg>`;
}

export function CopyButton({ text, label }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // clipboard refused (no permission, not secure context): select it
      const ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.className = 'offscreen';
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    announce('Copied to the clipboard.');
    setTimeout(() => setDone(false), 1500);
  };
  return html`<button type="button" class="btn-icon" onClick=${copy} aria-label=${label} title=${label}>
    <${Icon} name=${done ? 'check' : 'copy'} />
  </button>`;
}

const statusWords = { active: 'Active', expired: 'Expired', suspended: 'Suspended', revoked: 'Revoked' };
export function StatusBadge({ status }) {
  return html`<span class=${`badge badge-${status}`}><${Icon} name=${status === 'active' ? 'check' : 'alert'} />${statusWords[status] || status}</span>`;
}
export const statusWord = (s) => statusWords[s] || s;

// "2 of 3" with a small bar; "unlimited" for -1.
export function Usage({ used, allowed, what }) {
  if (allowed < 0) {
    return html`<span class="usage"><span class="usage-text">${fmtNum(used)} used, unlimited</span></span>`;
  }
  const pct = allowed > 0 ? Math.min(100, Math.round((used / allowed) * 100)) : 100;
  const cls = pct >= 100 ? 'full' : pct >= 80 ? 'high' : '';
  return html`<span class="usage">
    <span class="usage-text">${fmtNum(used)} of ${fmtNum(allowed)}<span class="sr-only"> ${what}</span></span>
    <progress class=${`usage-bar ${cls}`} max=${allowed || 1} value=${Math.min(used, allowed || 1)} aria-hidden="true"></progress>
  </span>`;
}

export function Alert({ kind = 'error', children }) {
  if (!children) return null;
  return html`<div class=${`alert alert-${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>
    <${Icon} name=${kind === 'error' ? 'alert' : 'info'} /><div>${children}</div>
  </div>`;
}

export function SkeletonRows({ rows = 5, cols = 5 }) {
  const r = [];
  for (let i = 0; i < rows; i++) {
    const c = [];
    for (let j = 0; j < cols; j++) c.push(html`<td><span class="skeleton"></span></td>`);
    r.push(html`<tr class="skeleton-row" aria-hidden="true">${c}</tr>`);
  }
  return r;
}

export function Loading({ label = 'Loading…' }) {
  return html`<div class="loading" role="status"><span class="skeleton skeleton-block"></span><span class="sr-only">${label}</span></div>`;
}

let fieldSeq = 0;
export function useId(prefix = 'f') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++fieldSeq}`;
  return ref.current;
}

// A labelled input with its hint and its error next to it.
export function Field({ label, hint, error, children, id }) {
  const fid = useId('field');
  const inputId = id || fid;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errId = error ? `${inputId}-err` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ') || undefined;
  const child = typeof children === 'function' ? children({ id: inputId, 'aria-describedby': describedBy, 'aria-invalid': error ? 'true' : undefined }) : children;
  return html`<div class=${`field${error ? ' has-error' : ''}`}>
    <label for=${inputId}>${label}</label>
    ${hint && html`<div class="hint" id=${hintId}>${hint}</div>`}
    ${child}
    ${error && html`<div class="field-error" id=${errId}><${Icon} name="alert" />${error}</div>`}
  </div>`;
}

// A modal <dialog> (showModal: the rest of the page is inert, Escape closes
// it); focus goes back to what opened it.
export function Modal({ open, title, onClose, children, wide }) {
  const ref = useRef(null);
  const opener = useRef(null);
  const titleId = useId('dlg');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);
  useEffect(() => {
    const d = ref.current;
    const onClosed = () => {
      const o = opener.current;
      opener.current = null;
      if (o && o.isConnected) o.focus();
      if (open) onClose && onClose();
    };
    d.addEventListener('close', onClosed);
    return () => d.removeEventListener('close', onClosed);
  }, [open, onClose]);
  return html`<dialog ref=${ref} class=${`modal${wide ? ' modal-wide' : ''}`} aria-labelledby=${titleId}>
    ${open && html`<div class="modal-head"><h2 id=${titleId}>${title}</h2>
      <button type="button" class="btn-icon" aria-label="Close" onClick=${() => ref.current.close()}><${Icon} name="x" /></button></div>
      <div class="modal-body">${children}</div>`}
  </dialog>`;
}

// confirm({title, body, confirm, danger}) → Promise<boolean>, shown by the
// shell's ConfirmHost.
let confirmFn = () => Promise.resolve(false);
export const confirm = (o) => confirmFn(o);
export function ConfirmHost() {
  const [state, setState] = useState(null);
  useEffect(() => {
    confirmFn = (o) => new Promise((resolve) => setState({ ...o, resolve }));
  }, []);
  const done = (v) => {
    if (!state) return;
    state.resolve(v);
    setState(null);
  };
  return html`<${Modal} open=${!!state} title=${state ? state.title : ''} onClose=${() => done(false)}>
    ${state && html`<div class="confirm-body">${state.body}</div>
    <div class="form-actions">
      <button type="button" class="btn" onClick=${() => done(false)}>Cancel</button>
      <button type="button" class=${`btn ${state.danger ? 'btn-danger' : 'btn-primary'}`} onClick=${() => done(true)}>${state.confirm || 'Confirm'}</button>
    </div>`}
  <//>`;
}

export function Link({ href, children, onClick: then, ...rest }) {
  const onClick = (e) => {
    if (then) then(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    shell.navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

export function PageHeader({ title, sub, children }) {
  return html`<div class="page-head"><div><h1 tabindex="-1" class="page-title">${title}</h1>${sub && html`<p class="page-sub">${sub}</p>`}</div>
    ${children && html`<div class="page-actions">${children}</div>`}</div>`;
}

// Saves a file the API answered (offline response) as a download.
export function saveFile(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.className = 'offscreen';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
