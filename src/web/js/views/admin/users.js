// Admin: the users (GET|POST /users, PUT|DELETE /users/{id}): list, add, edit, reset a
// password, delete.
import * as api from '../../api.js';
import {h, replace, statusLine} from '../../dom.js';
import {formatTime, t} from '../../i18n.js';
import {confirmDialog} from '../fax.js';
import {button, dataTable, editCard, passwordDialog, searchBox, showError, yesNo} from './common.js';
import {adminPage, changes, jsonForm} from './layout.js';

const HINTS = [[/e-?mail/i, 'email'], [/password/i, 'password'], [/username|user name/i, 'username'],
  [/role/i, 'role'], [/admin/i, 'role']];

export function render(app) {
  const status = statusLine();
  const list = h('div', {'aria-live': 'polite'}, h('p', null, t('faxes.loading')));
  const form = jsonForm([
    {key: 'username', label: t('user.username'), hint: t('user.usernameHint')},
    {key: 'name', label: t('user.name')},
    {key: 'email', label: t('user.email')},
    {key: 'role', label: t('user.role'), type: 'select',
      options: [['user', t('role.user')], ['admin', t('role.admin')]]},
    {key: 'enabled', label: t('user.enabled'), type: 'bool'},
    {key: 'password', label: t('user.password'), type: 'password', hint: t('user.passwordHint')},
  ]);
  form.fields.get('email').control.type = 'email';
  let editing = null; // the user being edited, or null when adding
  let before = {};

  const card = editCard('user-form', form.el, {
    onSubmit: async (st) => {
      form.clearErrors();
      const now = form.read();
      try {
        if (editing) {
          const diff = changes(before, now);
          delete diff.password;
          delete diff.username;
          if (Object.keys(diff).length === 0) return st.show(t('common.nothingChanged'));
          await api.put(`/users/${editing.id}`, diff);
          status.show(t('user.saved', {name: editing.username}), 'ok');
        } else {
          const body = {...now};
          if (!body.password) delete body.password;
          const u = await api.post('/users', body);
          status.show(t('user.added', {name: u.username}), 'ok');
        }
        card.close();
        load();
      } catch (err) {
        showError(form, st, err, HINTS);
      }
    },
  });

  const open = (user) => {
    editing = user;
    form.clearErrors();
    form.write(user || {role: 'user', enabled: true});
    const uname = form.fields.get('username');
    const pw = form.fields.get('password');
    uname.control.disabled = !!user;
    pw.wrap.hidden = !!user;
    before = form.read();
    card.open(user ? t('user.editTitle', {name: user.username}) : t('user.addTitle'),
      user ? t('common.save') : t('user.create'));
  };

  const resetPassword = (u) => passwordDialog(t('user.resetTitle', {name: u.username}),
    t('user.reset'), (pw) => api.put(`/users/${u.id}`, {password: pw}))
    .then((ok) => { if (ok) status.show(t('user.resetDone', {name: u.username}), 'ok'); });

  const remove = async (u) => {
    if (!await confirmDialog(t('user.deleteTitle'), t('user.deleteText', {name: u.username}),
      t('user.delete'))) return;
    try {
      await api.del(`/users/${u.id}`);
      status.show(t('user.deleted', {name: u.username}), 'ok');
      if (editing && editing.id === u.id) card.close();
      load();
    } catch (err) { status.show(err.message, 'error'); }
  };

  let users = [];
  let devicesOf = new Map(); // user id → names of the devices they own or are a member of
  const search = searchBox(t('user.search'), (u) => [u.username, u.name, u.email,
    ...(devicesOf.get(u.id) || [])],
    () => draw());
  const draw = () => {
    replace(list, dataTable(t('admin.users'), [
      {label: t('user.username'), cell: (u) => h('strong', null, u.username)},
      {label: t('user.name'), cell: (u) => u.name || '–'},
      {label: t('user.email'), cell: (u) => u.email || '–'},
      {label: t('user.role'), cell: (u) => t('role.' + u.role)},
      {label: t('user.devices'), cell: (u) => (devicesOf.get(u.id) || []).join(', ') || '–'},
      {label: t('user.enabled'), cell: (u) => yesNo(u.enabled)},
      {label: t('user.hasPassword'), cell: (u) => yesNo(u.has_password)},
      {label: t('user.created'), cell: (u) => formatTime(u.created_at)},
    ], users.filter(search.match), {empty: t('adm.noMatch'), actions: (u) => [
      button(t('adm.edit'), () => open(u), {label: t('user.editNamed', {name: u.username})}),
      button(t('user.reset'), () => resetPassword(u),
        {label: t('user.resetNamed', {name: u.username})}),
      u.builtin || u.id === (app.user && app.user.id) ? null :
        button(t('user.delete'), () => remove(u),
          {kind: 'danger', label: t('user.deleteNamed', {name: u.username})}),
    ]}));
  };
  const load = async () => {
    try {
      const [u, d] = await Promise.all([api.get('/users'), api.get('/devices')]);
      users = u.users || [];
      devicesOf = new Map();
      for (const dev of d.devices || []) {
        for (const id of dev.owner ? [dev.owner] : (dev.members || [])) {
          devicesOf.set(id, [...(devicesOf.get(id) || []), `${dev.name} (${dev.extension})`]);
        }
      }
      draw();
    } catch (err) { status.show(err.message, 'error'); }
  };
  load();
  return adminPage('users',
    h('div', {class: 'page-head'}, h('h1', null, t('admin.users')),
      button(t('user.add'), () => open(null), {kind: 'primary'})),
    status, card, search, list);
}
