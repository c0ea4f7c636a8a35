// The login form (POST /session). Failed logins show the server's message; a throttled one says
// how long to wait.
import * as api from '../api.js';
import {field, h, statusLine} from '../dom.js';
import {t} from '../i18n.js';

export function render(app) {
  const username = h('input', {type: 'text', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false'});
  const password = h('input', {type: 'password', autocomplete: 'current-password', required: true});
  const status = statusLine();
  const submit = h('button', {type: 'submit', class: 'primary'}, t('login.submit'));
  const form = h('form', {class: 'card login', 'aria-labelledby': 'login-title', novalidate: true},
    h('h1', {id: 'login-title'}, t('login.title')),
    field(t('login.username'), username, {name: 'username'}),
    field(t('login.password'), password, {name: 'password'}),
    status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!username.value || !password.value) {
      status.show(t('login.missing'), 'error');
      return;
    }
    submit.disabled = true;
    status.show(t('login.busy'));
    try {
      const session = await api.post('/session', {username: username.value,
        password: password.value}, {quiet401: true});
      password.value = '';
      app.loggedIn(session);
    } catch (err) {
      password.value = '';
      if (err.status === 401) status.show(t('login.wrong'), 'error');
      else if (err.status === 429) status.show(t('login.throttled', {message: err.message}), 'error');
      else status.show(err.message, 'error');
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  setTimeout(() => username.focus(), 0);
  return h('section', {class: 'page page-login'}, form);
}
