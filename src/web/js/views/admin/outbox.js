// Admin: the mail outbox (GET /mail/outbox): the newest mails with their delivery state,
// attempts and last error; refreshed every 10 s while open.
import * as api from '../../api.js';
import {h, replace, select, statusLine, field} from '../../dom.js';
import {formatTime, t} from '../../i18n.js';
import {dataTable, poll} from './common.js';
import {adminPage} from './layout.js';

const STATES = ['pending', 'sent', 'failed'];
const BADGE = {pending: 'waiting', sent: 'done', failed: 'failed'};

export function render() {
  const status = statusLine();
  const list = h('div', {'aria-live': 'polite'}, h('p', null, t('faxes.loading')));
  let mails = [];
  const stateSel = select([['', t('faxes.all')], ...STATES.map((s) => [s, t('outbox.state.' + s)])],
    '', {onchange: () => draw()});
  const kindSel = select([['', t('faxes.all')], ...['fax_to_email', 'status', 'reply', 'test']
    .map((k) => [k, t('outbox.kind.' + k)])], '', {onchange: () => draw()});

  const draw = () => {
    const shown = mails.filter((m) => (!stateSel.value || m.state === stateSel.value) &&
      (!kindSel.value || m.kind === kindSel.value));
    replace(list, dataTable(t('admin.outbox'), [
      {label: t('outbox.created'), cell: (m) => formatTime(m.created_at)},
      {label: t('outbox.kind'), cell: (m) => t('outbox.kind.' + m.kind)},
      {label: t('outbox.recipient'), cell: (m) => m.recipient},
      {label: t('outbox.subject'), cell: (m) => m.subject || '–'},
      {label: t('outbox.fax'), cell: (m) => (m.fax_id
        ? h('a', {href: `#/faxes/${m.fax_id}`}, t('lines.faxLink', {id: m.fax_id})) : '–')},
      {label: t('outbox.state'), cell: (m) => h('span', {class: 'badge',
        dataset: {state: BADGE[m.state] || 'queued'}}, t('outbox.state.' + m.state))},
      {label: t('outbox.attempts'), cell: (m) => String(m.attempts ?? 0)},
      {label: t('outbox.when'), cell: (m) => (m.state === 'sent' && m.sent_at
        ? formatTime(m.sent_at) : m.state === 'pending' && m.next_attempt_at
          ? t('outbox.next', {time: formatTime(m.next_attempt_at)}) : '–')},
      {label: t('outbox.lastError'), cell: (m) => m.last_error || '–'},
    ], shown, {empty: t('outbox.empty')}));
  };
  const load = async () => {
    try {
      mails = (await api.get('/mail/outbox')).mails || [];
      draw();
      status.show('');
    } catch (err) { status.show(err.message, 'error'); }
  };
  const timer = poll(load, 10000);
  const el = adminPage('outbox', h('div', {class: 'page-head'}, h('h1', null, t('admin.outbox')),
    h('button', {type: 'button', onclick: () => timer.now()}, t('adm.refresh'))),
  h('p', {class: 'field-hint'}, t('outbox.intro')),
  h('div', {class: 'filters', role: 'group', 'aria-label': t('outbox.filters')},
    field(t('outbox.state'), stateSel, {name: 'state'}), field(t('outbox.kind'), kindSel, {name: 'kind'})),
  status, list);
  return {el, dispose: () => timer.stop()};
}
