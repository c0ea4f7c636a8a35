// Admin: cleanup. "Clean up now" (POST /maintenance/cleanup with older_than_days) and the
// retention and schedule it runs by (the settings retention_days and cleanup_schedule, PUT
// /settings with the API's errors next to the field).
import * as api from '../../api.js';
import {field, h, statusLine} from '../../dom.js';
import {has, t} from '../../i18n.js';
import {confirmDialog} from '../fax.js';
import {adminPage, jsonForm, settingsForm} from './layout.js';

function nowForm(retention) {
  const days = h('input', {type: 'number', min: 0, step: 1, inputmode: 'numeric'});
  const f = field(t('cleanup.olderThan'), days, {name: 'older_than_days',
    hint: t('cleanup.olderThanHint')});
  const status = statusLine();
  const run = h('button', {type: 'submit', class: 'danger'}, t('cleanup.now'));
  const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'cleanup-now-title'},
    h('h2', {id: 'cleanup-now-title'}, t('cleanup.nowTitle')), h('p', null, t('cleanup.nowIntro')),
    f, h('div', {class: 'actions'}, run), status);
  // The retention as the default; 0 ("keep for ever") is no default for deleting everything.
  retention.then((d) => { if (days.value === '' && d > 0) days.value = String(d); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    f.setError('');
    const text = days.value.trim();
    if (!/^\d+$/.test(text)) return f.setError(t('cleanup.daysInvalid'));
    const n = Number(text);
    if (!await confirmDialog(t('cleanup.confirmTitle'), t('cleanup.confirmText', {days: n}),
      t('cleanup.now'))) return;
    run.disabled = true;
    status.show(t('common.working'));
    try {
      const out = await api.post('/maintenance/cleanup', {older_than_days: n});
      status.show(t('cleanup.done', {n: out.deleted ?? 0}), 'ok');
    } catch (err) {
      f.setError(err.message);
      status.show(err.message, 'error');
    } finally {
      run.disabled = false;
    }
  });
  return form;
}

function scheduleForm(settings) {
  const specs = ['retention_days', 'cleanup_schedule'].map((key) => ({key,
    type: key === 'retention_days' ? 'number' : 'text', min: 0, label: t(`setting.${key}`),
    hint: has(`setting.${key}.hint`) ? t(`setting.${key}.hint`) : undefined}));
  const form = jsonForm(specs);
  const status = statusLine();
  const save = h('button', {type: 'submit', class: 'primary'}, t('common.save'));
  const el = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'cleanup-sched-title'},
    h('h2', {id: 'cleanup-sched-title'}, t('cleanup.scheduleTitle')),
    h('p', null, t('cleanup.scheduleIntro')), form.el,
    h('div', {class: 'actions'}, save), status,
    h('p', {class: 'field-hint'}, h('a', {href: '#/admin/settings'}, t('cleanup.allSettings'))));
  settingsForm(el, form, save, status, settings);
  return el;
}

export function render() {
  const settings = api.get('/settings');
  const retention = settings.then((s) => s.retention_days ?? 30).catch(() => 30);
  return adminPage('cleanup', h('h1', null, t('admin.cleanup')), nowForm(retention),
    scheduleForm(settings));
}
