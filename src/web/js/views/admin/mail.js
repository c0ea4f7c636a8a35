// Admin: mail (GET|PUT /mail/settings): the SMTP server for outgoing mail, the Mail-to-Fax
// mailbox and its status, who may send faxes by mail, status mails. Passwords are write-only:
// the API shows them masked, and the page sends one only when a new one is typed (or removal is
// asked for). "Send a test mail" (POST /mail/test), "Check the mailbox" (POST /mail/check).
import * as api from '../../api.js';
import {field, h, replace, statusLine} from '../../dom.js';
import {formatTime, has, t} from '../../i18n.js';
import {facts, showError} from './common.js';
import {adminPage, changes, jsonForm} from './layout.js';

const TLS = ['none', 'starttls', 'tls'];
const SECRETS = ['smtp_password', 'mailbox_password'];

const GROUPS = [
  ['mail.smtp', [
    {key: 'smtp_host'}, {key: 'smtp_port', type: 'number', min: 0, max: 65535},
    {key: 'smtp_tls', type: 'select', options: TLS}, {key: 'smtp_user'},
    {key: 'smtp_password', type: 'password'}, {key: 'smtp_password_clear', type: 'bool'},
    {key: 'smtp_from'}, {key: 'smtp_ignore_invalid_certificates', type: 'bool'},
  ]],
  ['mail.mailbox', [
    {key: 'mailbox_server'}, {key: 'mailbox_port', type: 'number', min: 0, max: 65535},
    {key: 'mailbox_protocol', type: 'select', options: ['imap', 'pop3']},
    {key: 'mailbox_tls', type: 'select', options: TLS}, {key: 'mailbox_user'},
    {key: 'mailbox_password', type: 'password'}, {key: 'mailbox_password_clear', type: 'bool'},
    {key: 'mailbox_folder'}, {key: 'mailbox_poll_seconds', type: 'number', min: 1},
    {key: 'mailbox_delete', type: 'bool'}, {key: 'mailbox_idle', type: 'bool'},
    {key: 'mailbox_ignore_invalid_certificates', type: 'bool'},
  ]],
  ['mail.senders', [
    {key: 'allowed_senders'},
    {key: 'sender_auth', type: 'select', options: ['either', 'authentication-results', 'pin', 'none']},
    {key: 'trusted_authserv_ids'},
    {key: 'max_numbers_per_mail', type: 'number', min: 1, max: 1000},
    {key: 'replies_per_sender_per_hour', type: 'number', min: 0, max: 100},
    {key: 'max_mail_mb', type: 'number', min: 1},
  ]],
  ['mail.notify', [
    {key: 'language', type: 'select', options: ['de', 'en']},
    {key: 'status_mails', type: 'select', options: ['every', 'final', 'off']},
    {key: 'status_format', type: 'select', options: ['text', 'html']},
    {key: 'templates_dir'},
    {key: 'retry_initial_seconds', type: 'number', min: 1},
    {key: 'retry_max_seconds', type: 'number', min: 1},
  ]],
];

/** The API's text values ("true", "25") as the form's types. */
function typed(settings, specs) {
  const out = {...settings};
  for (const s of specs) {
    if (s.type === 'bool') out[s.key] = settings[s.key] === true || settings[s.key] === 'true';
    if (SECRETS.includes(s.key)) out[s.key] = '';
  }
  return out;
}

/** The mailbox status (GET /mail/settings), with the result of a check just made if given. */
function mailboxFacts(st, check) {
  if (!st) return null;
  const fetched = check ? check.mails_fetched : undefined;
  return facts([
    [t('mail.lastPoll'), st.last_poll_at ? formatTime(st.last_poll_at) : t('mail.never')],
    [t('mail.lastResult'), st.last_error
      ? h('span', {class: 'error-text'}, st.last_error) : (st.last_poll_at ? t('mail.ok') : '–')],
    check ? [t('mail.checkResult'), check.ok
      ? t('mail.checkOkCount', {n: fetched ?? 0})
      : h('span', {class: 'error-text'}, check.error || '')] : null,
    [t('mail.taken'), String(st.mails_taken ?? 0)],
    [t('mail.idle'), st.idle ? t('common.yes') : t('common.no')],
  ]);
}

export function render() {
  const specs = [];
  for (const [, group] of GROUPS) {
    for (const s of group) {
      specs.push({...s, label: t(`mailset.${s.key}`),
        hint: has(`mailset.${s.key}.hint`) ? t(`mailset.${s.key}.hint`) : undefined,
        options: s.options && s.options.map((o) => [o, t(`mailopt.${o}`)])});
    }
  }
  const form = jsonForm(specs);
  const status = statusLine();
  const mailboxBox = h('div', {'aria-live': 'polite'});
  let loaded = null;
  const fieldsets = [];
  let i = 0;
  for (const [title, group] of GROUPS) {
    fieldsets.push(h('fieldset', {class: 'group'}, h('legend', null, t(title)),
      form.el.slice(i, i + group.length)));
    i += group.length;
  }
  const save = h('button', {type: 'submit', class: 'primary'}, t('common.save'));
  const el = h('form', {class: 'card settings', novalidate: true, 'aria-labelledby': 'mail-title'},
    fieldsets, h('div', {class: 'actions sticky'}, save, status));

  const show = (s) => {
    form.write(typed(s, specs));
    for (const key of SECRETS) {
      const f = form.fields.get(key);
      const stored = s[key];
      f.control.placeholder = stored ? t('mail.secretKept', {masked: stored}) : t('mail.secretNone');
      form.fields.get(key + '_clear').wrap.hidden = !stored;
    }
    loaded = form.read();
    replace(mailboxBox, mailboxFacts(s.mailbox_status));
  };
  const load = async () => {
    try { show(await api.get('/mail/settings')); } catch (e) { status.show(e.message, 'error'); }
  };
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    form.clearErrors();
    const now = form.read();
    const diff = changes(loaded || {}, now);
    for (const key of SECRETS) {
      delete diff[key];
      delete diff[key + '_clear'];
      if (now[key]) diff[key] = now[key];
      else if (now[key + '_clear']) diff[key] = '';
    }
    if (Object.keys(diff).length === 0) return status.show(t('common.nothingChanged'));
    save.disabled = true;
    try {
      show(await api.put('/mail/settings', diff));
      status.show(t('common.saved'), 'ok');
    } catch (err) {
      showError(form, status, err, [[/POP3|folder/i, 'mailbox_folder'],
        [/authserv/i, 'trusted_authserv_ids']]);
    } finally {
      save.disabled = false;
    }
  });

  // A test mail to any address, through the outbox.
  const to = h('input', {type: 'email', autocomplete: 'email'});
  const toField = field(t('mail.testTo'), to, {name: 'to'});
  const testStatus = statusLine();
  const testForm = h('form', {class: 'inline-form', novalidate: true, 'aria-label': t('mail.test')},
    toField, h('button', {type: 'submit'}, t('mail.test')));
  testForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    toField.setError('');
    if (!to.value.trim()) return toField.setError(t('mail.testMissing'));
    try {
      const out = await api.post('/mail/test', {to: to.value.trim()});
      testStatus.show(t('mail.testQueued', {id: out.id}), 'ok');
    } catch (err) {
      toField.setError(err.message);
      testStatus.show(err.message, 'error');
    }
  });

  // Polls the mailbox now and shows what came of it.
  const checkStatus = statusLine();
  const checkButton = h('button', {type: 'button', onclick: async () => {
    checkButton.disabled = true;
    checkStatus.show(t('mail.checking'));
    try {
      // The answer is GET /mail/settings plus "check": {ok, error, mails_fetched}.
      const out = await api.post('/mail/check', {});
      const check = out.check || {ok: !out.mailbox_status?.last_error,
        error: out.mailbox_status?.last_error};
      replace(mailboxBox, mailboxFacts(out.mailbox_status || {}, check));
      if (check.ok) {
        checkStatus.show(t('mail.checkOkCount', {n: check.mails_fetched ?? 0}), 'ok');
      } else {
        checkStatus.show(t('mail.checkFailed', {error: check.error || ''}), 'error');
      }
    } catch (err) {
      checkStatus.show(err.code === 'unknown_route' ? t('mail.checkMissing', {error: err.message})
        : err.message, 'error');
    } finally {
      checkButton.disabled = false;
    }
  }}, t('mail.check'));

  load();
  return adminPage('mail', h('h1', {id: 'mail-title'}, t('admin.mail')), el,
    h('section', {class: 'card', 'aria-labelledby': 'mailbox-title'},
      h('h2', {id: 'mailbox-title'}, t('mail.mailboxStatus')), mailboxBox,
      h('div', {class: 'actions'}, checkButton), checkStatus),
    h('section', {class: 'card', 'aria-labelledby': 'mailtest-title'},
      h('h2', {id: 'mailtest-title'}, t('mail.test')), h('p', null, t('mail.testIntro')),
      testForm, testStatus, h('p', null, h('a', {href: '#/admin/outbox'}, t('mail.toOutbox')))));
}
