// The portal's shell: branding, silent sign-in, the router (every view has
// an address), the top bar, the navigation and the page modules, each
// loaded the first time it is opened.
import { html, render, useState, useEffect, useRef, shell, setTitle, Icon, Link, LiveRegion, ConfirmHost, Loading, Alert, errorText } from './ui.js';
import { api, refresh, logout, onSessionEnd } from './api.js';

const pages = {
  signin: () => import('./pages/signin.js'),
  licenses: () => import('./pages/licenses.js'),
  license: () => import('./pages/license.js'),
  releases: () => import('./pages/releases.js'),
  profile: () => import('./pages/profile.js'),
  users: () => import('./pages/users.js'),
  groups: () => import('./pages/groups.js'),
  group: () => import('./pages/group.js'),
  notfound: () => import('./pages/notfound.js'),
};

const isAdmin = () => shell.me && shell.me.role === 'organization-admin';

// route(path) → {page, params, admin}
function route(path) {
  const p = path.replace(/\/+$/, '') || '/';
  let m;
  if (p === '/sign-in') return { page: 'signin', open: true };
  if (p === '/' || p === '/licenses') return { page: 'licenses' };
  if ((m = p.match(/^\/licenses\/([0-9a-fA-F-]{36})$/))) return { page: 'license', params: { id: m[1] } };
  if (p === '/releases') return { page: 'releases' };
  if (p === '/profile') return { page: 'profile' };
  if (p === '/organization/users') return { page: 'users', admin: true };
  if (p === '/organization/groups') return { page: 'groups', admin: true };
  if ((m = p.match(/^\/organization\/groups\/([0-9a-fA-F-]{36})$/))) return { page: 'group', params: { id: m[1] }, admin: true };
  return { page: 'notfound' };
}

function loc() {
  return { path: location.pathname, search: location.search };
}

function UserMenu({ onSignOut }) {
  const [open, setOpen] = useState(false);
  const ref = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    const onDoc = (e) => {
      if (ref.current && !ref.current.contains(e.target)) setOpen(false);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') {
        setOpen(false);
        ref.current.querySelector('button').focus();
      }
    };
    document.addEventListener('click', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('click', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const me = shell.me;
  const name = [me.firstName, me.lastName].filter(Boolean).join(' ') || me.email;
  const initials = (me.firstName?.[0] || me.email[0] || '?').toUpperCase() + (me.lastName?.[0] || '').toUpperCase();
  return html`<div class="user-menu" ref=${ref}>
    <button type="button" class="user-button" aria-expanded=${open ? 'true' : 'false'} aria-controls="user-menu-list" onClick=${() => setOpen(!open)}>
      <span class="avatar" aria-hidden="true">${initials}</span><span class="user-name">${name}</span><span class="sr-only">, account menu</span><${Icon} name="chevron" />
    </button>
    <ul id="user-menu-list" class="menu" hidden=${!open}>
      <li class="menu-info"><span class="menu-email">${me.email}</span><span class="muted">${me.role === 'organization-admin' ? 'Organization admin' : 'User'}</span></li>
      <li><${Link} href="/profile" onClick=${() => setOpen(false)} class="menu-item"><${Icon} name="user" />Profile<//></li>
      <li><button type="button" class="menu-item" onClick=${onSignOut}><${Icon} name="logout" />Sign out</button></li>
    </ul>
  </div>`;
}

function Nav({ current, onNavigate }) {
  const item = (href, icon, label, pages) => {
    const cur = pages.includes(current);
    return html`<li><${Link} href=${href} class=${`nav-link${cur ? ' current' : ''}`} aria-current=${cur ? 'page' : undefined} onClick=${onNavigate}><${Icon} name=${icon} />${label}<//></li>`;
  };
  return html`<ul class="nav-list">
    ${item('/licenses', 'key', 'Licenses', ['licenses', 'license'])}
    ${item('/releases', 'download', 'Releases', ['releases'])}
    ${isAdmin() &&
    html`<li class="nav-section" aria-hidden="true">Organization</li>
      ${item('/organization/users', 'users', 'Users', ['users'])}
      ${item('/organization/groups', 'group', 'Groups', ['groups', 'group'])}`}
  </ul>`;
}

function Brand() {
  const b = shell.branding;
  return html`<span class="brand">${b.logoUrl ? html`<img class="brand-logo" src=${b.logoUrl} alt="" />` : html`<span class="brand-mark" aria-hidden="true"><${Icon} name="logo" /></span>`}<span class="brand-name">${b.portalName}</span></span>`;
}

function App() {
  const [where, setWhere] = useState(loc());
  const [session, setSession] = useState('starting'); // starting | in | out
  const [notice, setNotice] = useState(null);
  const [mod, setMod] = useState(null);
  const [navOpen, setNavOpen] = useState(false);
  const [, setBrandTick] = useState(0);
  const mainRef = useRef(null);

  useEffect(() => {
    const onPop = () => setWhere(loc());
    addEventListener('popstate', onPop);
    const brand = api('GET', '/v1/portal/branding', { noAuth: true })
      .then((b) => {
        shell.branding = { portalName: b.portalName || 'Keyport', logoUrl: b.logoUrl || null };
        setTitle(shell.pageTitle);
        setBrandTick((t) => t + 1);
      })
      .catch(() => {});
    // silent sign-in: the cookie, if any, gives a new access token
    const sess = refresh()
      .then(() => loadMe())
      .then(() => 'in', () => 'out');
    Promise.all([sess, brand]).then(([s]) => setSession(s));
    const off = onSessionEnd(() => {
      shell.me = null;
      setNotice('Your session has ended. Sign in again to continue.');
      setSession('out');
    });
    return () => {
      removeEventListener('popstate', onPop);
      off();
    };
  }, []);

  const r = route(where.path);
  let page = r.page;
  if (session === 'out' && page !== 'signin') page = 'signin';
  if (session === 'in' && page === 'signin') page = 'licenses';
  if (session === 'in' && r.admin && !isAdmin()) page = 'notfound';

  // the address a signed-out visitor wanted, opened after signing in
  useEffect(() => {
    if (session === 'out' && r.page !== 'signin') {
      const next = where.path + where.search;
      history.replaceState(null, '', next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`);
      setWhere(loc());
    }
    if (session === 'in' && r.page === 'signin') {
      const next = new URLSearchParams(where.search).get('next');
      history.replaceState(null, '', next && next.startsWith('/') && !next.startsWith('//') ? next : '/licenses');
      setWhere(loc());
    }
  }, [session, where.path, where.search]);

  useEffect(() => {
    if (session === 'starting') return;
    let live = true;
    pages[page]().then((m) => {
      if (live) setMod({ page, Component: m.default });
    });
    return () => {
      live = false;
    };
  }, [page, session]);

  // focus the new page's heading after a navigation (not on first load)
  const first = useRef(true);
  useEffect(() => {
    if (!mod) return;
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = mainRef.current && mainRef.current.querySelector('h1');
    if (h1) h1.focus({ preventScroll: true });
    scrollTo(0, 0);
  }, [mod, where.path]);

  const signedIn = async (m) => {
    shell.me = m;
    await loadMe();
    setNotice(null);
    setSession('in');
  };
  const signOut = async () => {
    try {
      await logout();
    } catch {
      /* the cookie is gone either way */
    }
    shell.me = null;
    shell.org = null;
    setNotice('You have signed out.');
    setSession('out');
    history.replaceState(null, '', '/sign-in');
    setWhere(loc());
  };

  if (session === 'starting' || !mod || mod.page !== page) {
    return html`<div class="boot"><${Loading} label="Loading the portal…" /></div><${LiveRegion} />`;
  }
  const C = mod.Component;
  const props = { params: r.params || {}, search: where.search, path: where.path };
  if (page === 'signin') {
    return html`<${C} ...${props} notice=${notice} onSignedIn=${signedIn} /><${LiveRegion} />`;
  }
  return html`<a class="skip-link" href="#main">Skip to content</a>
    <header class="topbar">
      <button type="button" class="btn-icon nav-toggle" aria-expanded=${navOpen ? 'true' : 'false'} aria-controls="nav" aria-label="Menu" onClick=${() => setNavOpen(!navOpen)}><${Icon} name=${navOpen ? 'x' : 'menu'} /></button>
      <${Link} href="/licenses" class="brand-link"><${Brand} /><//>
      <div class="topbar-spacer"></div>
      <${UserMenu} onSignOut=${signOut} />
    </header>
    <div class="layout">
      <nav id="nav" class=${`sidenav${navOpen ? ' open' : ''}`} aria-label="Main">
        <${Nav} current=${page} onNavigate=${() => setNavOpen(false)} />
      </nav>
      <main id="main" ref=${mainRef} tabindex="-1">
        ${shell.meError && html`<${Alert}>${shell.meError}<//>`}
        <${C} key=${where.path} ...${props} />
      </main>
    </div>
    <${ConfirmHost} />
    <${LiveRegion} />`;
}

async function loadMe() {
  shell.meError = null;
  try {
    shell.me = await api('GET', '/v1/me');
  } catch (e) {
    shell.meError = errorText(e);
    throw e;
  }
  shell.org = null;
  if (shell.me.organizationId) {
    try {
      shell.org = await api('GET', '/v1/organization');
    } catch {
      /* the pages that need it say so */
    }
  }
}

render(html`<${App} />`, document.getElementById('app'));
