// The user's own account: who they are, their devices, password and personal API tokens.
import * as api from '../api.js';
import {field, h, replace, statusLine} from '../dom.js';
import {formatTime, t} from '../i18n.js';
import {confirmDialog} from './fax.js';

function passwordForm(app) {
  const current = h('input', {type: 'password', autocomplete: 'current-password'});
  const next = h('input', {type: 'password', autocomplete: 'new-password', minlength: 8});
  const again = h('input', {type: 'password', autocomplete: 'new-password', minlength: 8});
  const fCurrent = field(t('account.current'), current, {name: 'current_password'});
  const fNext = field(t('account.new'), next, {name: 'password', hint: t('account.newHint')});
  const fAgain = field(t('account.again'), again, {name: 'password_again'});
  const status = statusLine();
  const form = h('form', {class: 'card', 'aria-labelledby': 'pw-title', novalidate: true},
    h('h2', {id: 'pw-title'}, t('account.password')), fCurrent, fNext, fAgain,
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('account.changePassword'))), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of [fCurrent, fNext, fAgain]) f.setError('');
    if (next.value.length < 8) return fNext.setError(t('account.tooShort'));
    if (next.value !== again.value) return fAgain.setError(t('account.mismatch'));
    try {
      await api.put(`/users/${app.user.id}`, {password: next.value, current_password: current.value});
      for (const c of [current, next, again]) c.value = '';
      status.show(t('account.passwordChanged'), 'ok');
    } catch (err) {
      if (err.status === 401 || err.code === 'wrong_password' || /current/i.test(err.message)) {
        fCurrent.setError(err.message);
      } else {
        fNext.setError(err.message);
      }
      status.show(err.message, 'error');
    }
  });
  return form;
}

function tokens(app) {
  const list = h('tbody');
  const status = statusLine();
  const name = h('input', {type: 'text', maxlength: 100, required: true});
  const days = h('input', {type: 'number', min: 1, max: 3650, value: 90});
  const fName = field(t('tokens.name'), name, {name: 'name'});
  const fDays = field(t('tokens.days'), days, {name: 'expires_in_days', hint: t('tokens.daysHint')});
  const secret = h('div', {class: 'secret', hidden: true, role: 'status'});
  const load = async () => {
    try {
      const out = await api.get('/tokens');
      replace(list, (out.tokens || []).filter((tk) => tk.user === app.user.id).map((tk) => h('tr', null,
        h('td', {'data-label': t('tokens.name')}, tk.name),
        h('td', {'data-label': t('tokens.prefix')}, h('code', null, tk.prefix + '…')),
        h('td', {'data-label': t('tokens.created')}, formatTime(tk.created_at)),
        h('td', {'data-label': t('tokens.lastUsed')}, tk.last_used_at ? formatTime(tk.last_used_at) : '–'),
        h('td', {'data-label': t('tokens.expires')}, tk.expires_at ? formatTime(tk.expires_at) : t('tokens.never')),
        h('td', null, h('button', {type: 'button', class: 'danger',
          'aria-label': t('tokens.revokeNamed', {name: tk.name}), onclick: async () => {
            if (!await confirmDialog(t('tokens.revokeTitle'), t('tokens.revokeText', {name: tk.name}),
              t('tokens.revoke'))) return;
            try {
              await api.del(`/tokens/${tk.id}`);
              status.show(t('tokens.revoked', {name: tk.name}), 'ok');
              load();
            } catch (err) { status.show(err.message, 'error'); }
          }}, t('tokens.revoke'))))));
    } catch (err) { status.show(err.message, 'error'); }
  };
  const form = h('form', {class: 'inline-form', 'aria-label': t('tokens.create'), novalidate: true},
    fName, fDays, h('button', {type: 'submit'}, t('tokens.create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fName.setError('');
    fDays.setError('');
    if (!name.value.trim()) return fName.setError(t('tokens.nameMissing'));
    try {
      const out = await api.post('/tokens', {name: name.value.trim(), user: app.user.id,
        expires_in_days: Number(days.value) || undefined});
      replace(secret, h('p', null, t('tokens.once')), h('code', {class: 'token'}, out.token));
      secret.hidden = false;
      name.value = '';
      load();
    } catch (err) {
      if (/day/.test(err.message)) fDays.setError(err.message); else fName.setError(err.message);
      status.show(err.message, 'error');
    }
  });
  load();
  return h('section', {class: 'card', 'aria-labelledby': 'tokens-title'},
    h('h2', {id: 'tokens-title'}, t('tokens.title')), h('p', null, t('tokens.intro')),
    h('div', {class: 'table-wrap'}, h('table', {'aria-label': t('tokens.title')},
      h('thead', null, h('tr', null, [t('tokens.name'), t('tokens.prefix'), t('tokens.created'),
        t('tokens.lastUsed'), t('tokens.expires'), ''].map((c) => h('th', {scope: 'col'}, c)))),
      list)), form, secret, status);
}

export function render(app) {
  const u = app.user;
  return h('section', {class: 'page page-account'},
    h('h1', null, t('account.title')),
    h('dl', {class: 'facts'},
      h('dt', null, t('account.username')), h('dd', null, u.username),
      h('dt', null, t('account.name')), h('dd', null, u.name || '–'),
      h('dt', null, t('account.email')), h('dd', null, u.email || '–'),
      h('dt', null, t('account.role')), h('dd', null, t('role.' + u.role)),
      h('dt', null, t('account.devices')), h('dd', null, app.devices.length
        ? app.devices.map((d) => `${d.name} (${d.extension})`).join(', ') : '–')),
    passwordForm(app), tokens(app));
}
