// Admin: the audit log (GET /audit, newest first): filters by user and action (an action, or a
// prefix ending in "."), paged with the API's cursor.
import * as api from '../../api.js';
import {field, h, replace, select, statusLine} from '../../dom.js';
import {formatTime, t} from '../../i18n.js';
import {dataTable} from './common.js';
import {adminPage} from './layout.js';

const ACTIONS = ['login', 'login_failed', 'login_throttled', 'logout', 'fax.', 'fax.send',
  'fax.send_refused', 'fax.cancel', 'fax.download', 'settings.update', 'device.', 'user.',
  'token.', 'trunk.', 'mail.', 'cleanup'];
const PAGE = 100;

export function render() {
  const status = statusLine();
  const list = h('div', {'aria-live': 'polite'});
  const more = h('button', {type: 'button', hidden: true, onclick: () => load(true)}, t('faxes.more'));
  const userSel = select([['', t('audit.allUsers')]], '', {});
  const action = h('input', {type: 'text', list: 'audit-actions', autocomplete: 'off',
    spellcheck: 'false'});
  const fUser = field(t('audit.user'), userSel, {name: 'user'});
  const fAction = field(t('audit.action'), action, {name: 'action', hint: t('audit.actionHint')});
  const filters = h('form', {class: 'filters', role: 'search', 'aria-label': t('audit.filters'),
    novalidate: true}, fUser, fAction,
  h('datalist', {id: 'audit-actions'}, ACTIONS.map((a) => h('option', {value: a}))),
  h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('audit.apply'))));
  let entries = [];
  let next = null;

  const draw = () => {
    replace(list, dataTable(t('admin.audit'), [
      {label: t('audit.time'), cell: (e) => formatTime(e.at)},
      {label: t('audit.user'), cell: (e) => e.username || (e.user ? `#${e.user}` : '–')},
      {label: t('audit.action'), cell: (e) => h('code', null, e.action)},
      {label: t('audit.target'), cell: (e) => e.target || '–'},
      {label: t('audit.detail'), cell: (e) => e.detail || '–'},
      {label: t('audit.source'), cell: (e) => e.source || '–'},
      {label: t('audit.credential'), cell: (e) => e.credential || '–'},
    ], entries, {empty: t('audit.empty')}));
    more.hidden = !next;
  };
  const load = async (append = false) => {
    fAction.setError('');
    try {
      const out = await api.get('/audit', {user: userSel.value, action: action.value.trim(),
        limit: PAGE, before: append ? next : undefined});
      entries = append ? entries.concat(out.entries || []) : (out.entries || []);
      next = out.next || null;
      draw();
      status.show(t('audit.shown', {n: entries.length}));
    } catch (err) {
      if (/action/.test(err.message)) fAction.setError(err.message);
      status.show(err.message, 'error');
    }
  };
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  userSel.addEventListener('change', () => load());
  api.get('/users').then((out) => {
    for (const u of out.users || []) userSel.appendChild(h('option', {value: String(u.id)}, u.username));
  }).catch(() => {});
  load();
  return adminPage('audit', h('h1', null, t('admin.audit')), filters, status, list,
    h('div', {class: 'actions'}, more));
}
