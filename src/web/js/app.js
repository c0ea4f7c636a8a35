// The vfax web page: boot, session, navigation and live updates. Each page is a module in views/
// with `render(app, params)` returning its element; it may return {el, dispose}.
import * as api from './api.js';
import {h, replace} from './dom.js';
import {detectLanguage, LANGUAGES, language, setLanguage, t} from './i18n.js';
import './lang/en.js';
import './lang/de.js';
import './lang/admin-en.js';
import './lang/admin-de.js';
import * as loginView from './views/login.js';
import * as faxesView from './views/faxes.js';
import * as faxView from './views/fax.js';
import * as sendView from './views/send.js';
import * as accountView from './views/account.js';
import {adminRoutes} from './views/admin/index.js';

const routes = [
  {path: /^\/?$/, to: '/faxes'},
  {path: /^\/faxes$/, view: faxesView, nav: 'faxes'},
  {path: /^\/faxes\/(\d+)$/, view: faxView, nav: 'faxes'},
  {path: /^\/send$/, view: sendView, nav: 'send'},
  {path: /^\/account$/, view: accountView, nav: 'account'},
  ...adminRoutes.map((r) => ({...r, admin: true, nav: 'admin'})),
];

/** What views get: the session, navigation and the live event bus. */
class App {
  constructor(root) {
    this.root = root;
    this.session = null;
    this.live = new EventTarget();
    this.liveState = 'closed';
    this.closeLive = null;
    this.disposeView = null;
    window.addEventListener('hashchange', () => this.route());
    api.onUnauthorized(() => this.loggedOut());
  }

  get user() { return this.session && this.session.user; }
  get isAdmin() { return !!(this.user && this.user.role === 'admin'); }
  get devices() { return (this.session && this.session.devices) || []; }

  navigate(path) {
    if (location.hash === '#' + path) this.route(); else location.hash = '#' + path;
  }

  async start() {
    setLanguage(detectLanguage());
    // Without the hint cookie nobody is logged in here: the login form, no refused request.
    if (!/(^|;\s*)vfax_hint=1/.test(document.cookie)) {
      this.session = null;
      this.route();
      return;
    }
    try {
      this.session = await api.get('/session', undefined, {quiet401: true});
      api.setCsrfToken(this.session.csrf_token);
    } catch (e) {
      this.session = null;
    }
    this.route();
  }

  async refreshSession() {
    this.session = await api.get('/session');
    api.setCsrfToken(this.session.csrf_token);
  }

  loggedIn(session) {
    this.session = session;
    api.setCsrfToken(session.csrf_token);
    // The login answer names the user only; devices come with GET /session.
    this.refreshSession().catch(() => {}).finally(() => {
      const target = this.afterLogin || '/faxes';
      this.afterLogin = null;
      this.navigate(target);
    });
  }

  loggedOut() {
    document.cookie = 'vfax_hint=; Path=/; Max-Age=0; SameSite=Strict';
    if (!this.session) return;
    this.session = null;
    api.setCsrfToken('');
    this.stopLive();
    this.route();
  }

  async logout() {
    try { await api.del('/session'); } catch (_) { /* ends anyway */ }
    // Whoever logs in next starts at the fax list, not on the page left behind.
    history.replaceState(null, '', '#/login');
    this.loggedOut();
  }

  startLive() {
    if (this.closeLive) return;
    const forward = (name) => (data) => this.live.dispatchEvent(new CustomEvent(name, {detail: data}));
    this.closeLive = api.subscribe({
      fax: forward('fax'),
      fax_deleted: forward('fax_deleted'),
      lines: forward('lines'),
    }, (state) => {
      const wasDown = this.liveState === 'reconnecting';
      this.liveState = state;
      const badge = document.getElementById('live-state');
      if (badge) {
        badge.textContent = state === 'open' ? t('live.on') : t('live.reconnecting');
        badge.dataset.state = state;
      }
      // What happened while the stream was down is fetched again by the pages.
      if (state === 'open' && wasDown) this.live.dispatchEvent(new CustomEvent('reconnected'));
    }, async () => {
      // Refused: a session that ended shows the login (the 401 listener), else try again.
      try {
        await api.get('/session');
        return true;
      } catch (e) {
        return e.status !== 401;
      }
    });
  }

  stopLive() {
    if (this.closeLive) this.closeLive();
    this.closeLive = null;
  }

  route() {
    const raw = location.hash.replace(/^#/, '').split('?')[0];
    let path = raw || '/';
    try {
      path = decodeURIComponent(raw) || '/';
    } catch (_) { /* a malformed address: the page is not found */ }
    if (this.disposeView) {
      try { this.disposeView(); } catch (e) { console.warn(e); }
      this.disposeView = null;
    }
    if (!this.session) {
      if (path !== '/login') this.afterLogin = path === '/' ? null : path;
      this.show(null, loginView.render(this));
      document.title = t('login.title') + ' – vfax';
      return;
    }
    if (path === '/login') return this.navigate('/faxes');
    this.startLive();
    for (const r of routes) {
      const m = path.match(r.path);
      if (!m) continue;
      if (r.to) return this.navigate(r.to);
      if (r.admin && !this.isAdmin) break;
      let out;
      try {
        out = r.view.render(this, m.slice(1));
      } catch (e) {
        console.error(e);
        out = h('p', {role: 'alert'}, e.message);
      }
      const el = out instanceof Node ? out : out.el;
      if (!(out instanceof Node) && out.dispose) this.disposeView = out.dispose;
      this.show(r.nav, el, r.sub);
      return;
    }
    this.show(null, h('section', {class: 'page'}, h('h1', null, t('notfound.title')),
      h('p', null, h('a', {href: '#/faxes'}, t('notfound.back')))));
  }

  /** Puts a page into the shell (header, navigation, main). */
  show(nav, el, sub) {
    const main = h('main', {id: 'main', tabindex: '-1'}, el);
    const parts = [h('a', {class: 'skip', href: '#main',
      onclick: (e) => { e.preventDefault(); main.focus(); }}, t('nav.skip'))];
    parts.push(this.header(nav, sub));
    parts.push(main);
    replace(this.root, ...parts);
    const heading = main.querySelector('h1');
    if (heading) document.title = heading.textContent + ' – vfax';
  }

  header(nav) {
    const langSelect = h('select', {id: 'language', 'aria-label': t('nav.language'),
      onchange: (e) => { setLanguage(e.target.value, true); this.route(); }},
      LANGUAGES.map(([code, name]) => h('option', {value: code, selected: code === language()}, name)));
    if (!this.session) {
      return h('header', {class: 'top'}, h('span', {class: 'brand'}, 'vfax'),
        h('div', {class: 'top-tools'}, langSelect));
    }
    const link = (key, href, label) => h('li', null, h('a', {href: '#' + href,
      'aria-current': nav === key ? 'page' : false}, label));
    const items = [link('faxes', '/faxes', t('nav.faxes')), link('send', '/send', t('nav.send')),
      link('account', '/account', t('nav.account'))];
    if (this.isAdmin) items.push(link('admin', '/admin/settings', t('nav.admin')));
    return h('header', {class: 'top'},
      h('a', {class: 'brand', href: '#/faxes'}, 'vfax'),
      h('nav', {'aria-label': t('nav.main')}, h('ul', null, items)),
      h('div', {class: 'top-tools'},
        h('span', {id: 'live-state', class: 'live', role: 'status', dataset: {state: this.liveState}},
          this.liveState === 'open' ? t('live.on') : t('live.connecting')),
        langSelect,
        h('span', {class: 'who'}, this.user.name || this.user.username),
        h('button', {type: 'button', class: 'link', onclick: () => this.logout()}, t('nav.logout'))));
  }
}

const app = new App(document.getElementById('app'));
window.addEventListener('error', (e) => console.error('vfax:', e.message));
app.start();
