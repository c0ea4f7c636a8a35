// Admin: the lines live (GET /lines and `lines` events on app.live): lines in use, the queue,
// each call (direction, number, phase, page x of y, bit rate) and the trunks' state. Without
// events (the stream is down, or an older vfaxd) the page polls every 2 s.
import * as api from '../../api.js';
import {h, replace, statusLine} from '../../dom.js';
import {formatTime, has, t} from '../../i18n.js';
import {dataTable, facts, poll} from './common.js';
import {adminPage} from './layout.js';

const POLL_MS = 2000;

function since(ms) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function render(app) {
  const status = statusLine();
  const summary = h('div');
  const calls = h('div', {'aria-live': 'polite'});
  const trunks = h('div');
  const updated = h('p', {class: 'field-hint'});
  let lastData = 0;
  let last = null;
  // Admins see every device; the session lists only their own.
  const devices = new Map();
  api.get('/devices').then((out) => {
    for (const d of out.devices || []) devices.set(d.id, d.name);
    if (last) draw(last);
  }).catch(() => {});
  const deviceName = (id) => devices.get(id) ||
    (app.devices.find((d) => d.id === id) || {}).name || `#${id}`;

  const draw = (l) => {
    lastData = Date.now();
    last = l;
    const meter = h('meter', {min: 0, max: l.total || 1, value: l.in_use || 0,
      'aria-label': t('lines.inUse')});
    replace(summary, facts([
      [t('lines.inUse'), h('span', null, meter, ' ',
        t('lines.inUseText', {n: l.in_use ?? 0, total: l.total ?? 0}))],
      [t('lines.inOut'), t('lines.inOutText', {in: l.inbound ?? 0, out: l.outbound ?? 0})],
      [t('lines.reserved'), String(l.reserved_inbound ?? 0)],
      [t('lines.queued'), String(l.queued ?? 0)],
    ]));
    if (Array.isArray(l.calls)) {
      replace(calls, dataTable(t('lines.calls'), [
        {label: t('lines.fax'), cell: (c) => (c.fax
          ? h('a', {href: `#/faxes/${c.fax}`}, t('lines.faxLink', {id: c.fax})) : '–')},
        {label: t('lines.direction'), cell: (c) => t(c.direction === 'in' ? 'lines.in' : 'lines.out')},
        {label: t('lines.number'), cell: (c) => c.number || t('fax.unknownNumber')},
        {label: t('lines.device'), cell: (c) => (c.device ? deviceName(c.device) : '–')},
        {label: t('lines.trunk'), cell: (c) => c.trunk || '–'},
        {label: t('lines.phase'), cell: (c) => h('span', {class: 'badge', dataset: {state:
          c.phase === 'ending' ? 'canceled' : 'sending'}},
          has(`phase.${c.phase}`) ? t(`phase.${c.phase}`) : c.phase)},
        {label: t('lines.page'), cell: (c) => (c.pages_total
          ? t('lines.pageOf', {n: c.page ?? 0, total: c.pages_total}) : String(c.page ?? 0))},
        {label: t('lines.bitRate'), cell: (c) => (c.bit_rate
          ? t('lines.bitRateText', {n: c.bit_rate, ecm: c.ecm ? ' ECM' : ''}) : '–')},
        {label: t('lines.media'), cell: (c) => (c.media
          ? t('media.' + c.media) + (c.codec && c.media === 'audio' ? `, ${c.codec}` : '') : '–')},
        {label: t('lines.duration'), cell: (c) => h('span', {class: 'since',
          dataset: {since: String(c.started_at || '')}}, since(c.started_at))},
      ], l.calls, {empty: t('lines.noCalls')}));
    } else {
      replace(calls, h('p', {class: 'empty'}, (l.in_use ?? 0) > 0
        ? t('lines.callsUnknown', {n: l.in_use}) : t('lines.noCalls')));
    }
    replace(trunks, dataTable(t('lines.trunks'), [
      {label: t('trunk.name'), cell: (x) => h('strong', null, x.name)},
      {label: t('trunk.state'), cell: (x) => h('span', {class: 'badge',
        dataset: {state: x.up ? 'done' : 'failed'}}, x.up ? t('trunk.up') : t('trunk.down'))},
      {label: t('trunk.reason'), cell: (x) => x.reason || '–'},
      {label: t('trunk.calls'), cell: (x) => String(x.calls ?? 0)},
    ], l.trunks || []));
    updated.textContent = t('lines.updated', {time: formatTime(Date.now())});
  };

  const fetchLines = async () => {
    try {
      draw(await api.get('/lines'));
      status.show('');
    } catch (err) { status.show(err.message, 'error'); }
  };
  const onLines = (ev) => draw(ev.detail);
  const onReconnected = () => fetchLines();
  app.live.addEventListener('lines', onLines);
  app.live.addEventListener('reconnected', onReconnected);
  // Events push changes as they happen; this fills in while none came.
  const timer = poll(async () => {
    if (Date.now() - lastData >= POLL_MS - 100) await fetchLines();
  }, POLL_MS);

  // Running calls' durations move on between updates.
  const ticker = setInterval(() => {
    for (const span of el.querySelectorAll('.since')) {
      if (span.dataset.since) span.textContent = since(span.dataset.since);
    }
  }, 1000);

  const el = adminPage('lines', h('h1', null, t('admin.lines')), status, summary,
    h('h2', null, t('lines.calls')), calls, h('h2', null, t('lines.trunks')), trunks, updated);
  return {el, dispose: () => {
    timer.stop();
    clearInterval(ticker);
    app.live.removeEventListener('lines', onLines);
    app.live.removeEventListener('reconnected', onReconnected);
  }};
}
