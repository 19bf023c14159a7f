import { api, ApiError, type Me } from './api.js';
import { h } from './dom.js';
import { budgetsPage, findingsPage, orgPage, teamPage, userPage } from './pages.js';

/** The dashboard's shell: sign-in, navigation by the URL's hash, one page at a time. */
const app = document.getElementById('app')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | null = null;

function loginForm(message?: string): HTMLElement {
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', placeholder: 'gh_…', 'aria-label': 'Goodhart key', required: true });
  const form = h('form', { class: 'login card' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use your Goodhart key (the gh_… key your tools use). It is checked once; the browser then keeps only a session cookie.'),
    message ? h('p', { class: 'error' }, message) : null,
    input,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      me = await api<Me>('/api/session', { method: 'POST', body: { key: input.value } });
      location.hash = home(me);
      await render();
    } catch (err) {
      app.replaceChildren(loginForm(err instanceof Error ? err.message : String(err)));
    }
  });
  return form;
}

function home(m: Me): string {
  if (m.can.org) return '#/org';
  if (m.user !== null) return '#/me';
  return m.can.teams[0] ? `#/teams/${m.can.teams[0]}` : '#/findings';
}

function renderNav(m: Me, route: string): void {
  const link = (href: string, text: string) => {
    const active = route === href || route.startsWith(`${href}/`);
    return h('a', { href, class: active ? 'active' : undefined, 'aria-current': active ? 'page' : undefined }, text);
  };
  nav.replaceChildren(
    ...(m.can.org ? [link('#/org', 'Organisation')] : []),
    ...m.can.teams.slice(0, 8).map((t) => link(`#/teams/${encodeURIComponent(t)}`, `Team ${t}`)),
    ...(m.user !== null ? [link('#/me', 'My usage')] : []),
    link('#/findings', 'Findings'),
    link('#/budgets', 'Budgets & access'),
  );
  const out = h('button', { onclick: signOut }, 'Sign out');
  who.replaceChildren(h('span', {}, `${m.user ?? m.actor} · ${m.role}`), out);
}

async function signOut(): Promise<void> {
  await api('/api/session', { method: 'DELETE' }).catch(() => undefined);
  me = null;
  nav.replaceChildren();
  who.replaceChildren();
  location.hash = '#/login';
  app.replaceChildren(loginForm());
}

async function page(route: string, m: Me): Promise<HTMLElement> {
  const [, section, arg] = route.split('/');
  const month = new URLSearchParams(location.hash.split('?')[1] ?? '').get('month') ?? undefined;
  switch (section) {
    case 'org':
      return orgPage(month);
    case 'teams':
      return teamPage(decodeURIComponent(arg ?? ''), month);
    case 'users':
      return userPage(decodeURIComponent(arg ?? ''), month);
    case 'me':
      return userPage('me', month);
    case 'findings':
      return findingsPage(month);
    case 'budgets':
      return budgetsPage(m, () => void render());
    default:
      location.hash = home(m);
      return h('p', { class: 'muted' }, 'Loading…');
  }
}

/** The latest month a page showed when asked for none (the server's current month, in the config's zone). */
let latestMonth: string | null = null;

/** `YYYY-MM` moved by `delta` months. */
function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 1 + delta, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Links to the month before and after the page's (none past the current month), under its heading. */
function monthLinks(content: HTMLElement, route: string, asked: string | null): void {
  const month = content.dataset['month'];
  if (month === undefined) return;
  if (asked === null) latestMonth = month;
  const latest = latestMonth ?? new Date().toISOString().slice(0, 7);
  const link = (m: string, text: string, rel: string) => h('a', { href: `${route}?month=${m}`, rel }, text);
  const links = h('nav', { class: 'months', 'aria-label': 'Month' },
    link(shiftMonth(month, -1), `‹ ${shiftMonth(month, -1)}`, 'prev'),
    month < latest ? link(shiftMonth(month, 1), `${shiftMonth(month, 1)} ›`, 'next') : null,
    month < latest ? link(route, 'this month', 'current') : null);
  content.querySelector('h1')?.after(links);
}

/** Counts navigations: a page whose data arrives after the person has moved on is not drawn over the newer one. */
let navigation = 0;

function signedOut(message?: string): void {
  me = null;
  nav.replaceChildren();
  who.replaceChildren();
  app.replaceChildren(loginForm(message));
}

async function render(): Promise<void> {
  const mine = ++navigation;
  if (me === null) {
    let session: { signedIn: false } | { signedIn: true; me: Me };
    try {
      session = await api('/api/session');
    } catch {
      session = { signedIn: false };
    }
    if (!session.signedIn) {
      if (mine === navigation) signedOut();
      return;
    }
    me = session.me;
  }
  if (mine !== navigation) return;
  const route = (location.hash || home(me)).split('?')[0]!;
  renderNav(me, route);
  try {
    const content = await page(route, me);
    if (mine !== navigation) return;
    monthLinks(content, route, new URLSearchParams(location.hash.split('?')[1] ?? '').get('month'));
    app.replaceChildren(content);
    app.dataset['page'] = route;
    // Keyboard users land on the new page's heading, not back at the top of the document.
    const heading = app.querySelector('h1');
    if (heading !== null && (document.activeElement === null || document.activeElement === document.body || nav.contains(document.activeElement))) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  } catch (err) {
    if (mine !== navigation) return;
    if (err instanceof ApiError && err.status === 401) {
      signedOut('Your session ended. Sign in again.');
      return;
    }
    const message = err instanceof TypeError ? 'The Goodhart server cannot be reached. Check that it is running, then reload the page.' : err instanceof Error ? err.message : String(err);
    app.replaceChildren(h('p', { class: 'error', 'data-status': err instanceof ApiError ? String(err.status) : '' }, message));
  }
}

window.addEventListener('hashchange', () => void render());
void render();
