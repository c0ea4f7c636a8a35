// The fax list: the user's devices, in and out, newest first; filters, search, cursor paging
// ("show more") and live updates from GET /events.
import * as api from '../api.js';
import {h, replace, select, statusLine, uid} from '../dom.js';
import {deviceName, directionLabel, pagesText, stateBadge, STATES} from '../format.js';
import {formatTime, t} from '../i18n.js';

const PAGE = 50;

/** Local midnight of a date input's value ("2026-12-01"), `plusDays` later, in ms. */
function localDay(value, plusDays = 0) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).getTime();
}

function thumb(fax) {
  const img = h('img', {src: api.url(`/faxes/${fax.id}/pages/1.png`), loading: 'lazy',
    alt: t('fax.thumbAlt', {id: fax.id}), width: 60, height: 78, decoding: 'async'});
  img.addEventListener('error', () => img.replaceWith(h('span', {class: 'thumb-none',
    'aria-hidden': 'true'})));
  return img;
}

export function render(app) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const filters = {
    direction: params.get('direction') || '',
    state: params.get('state') || '',
    device: params.get('device') || '',
    since: params.get('since') || '',
    until: params.get('until') || '',
    q: params.get('q') || '',
  };
  const rows = new Map();  // fax id -> {tr, fax}
  const tbody = h('tbody');
  const status = statusLine();
  const more = h('button', {type: 'button', hidden: true}, t('faxes.more'));
  const empty = h('p', {class: 'empty', hidden: true}, t('faxes.empty'));
  let next = null;
  let loading = null;

  const labelled = (text, control) => {
    const id = uid('flt');
    control.id = id;
    return h('div', {class: 'filter'}, h('label', {for: id}, text), control);
  };
  const direction = select([['', t('faxes.all')], ['in', t('dir.in')], ['out', t('dir.out')]],
    filters.direction, {name: 'direction'});
  const state = select([['', t('faxes.all')], ...STATES.map((s) => [s, t('state.' + s)])],
    filters.state, {name: 'state'});
  const device = select([['', t('faxes.allDevices')],
    ...app.devices.map((d) => [d.id, `${d.name} (${d.extension})`])], filters.device,
  {name: 'device'});
  const since = h('input', {type: 'date', name: 'since', value: filters.since});
  const until = h('input', {type: 'date', name: 'until', value: filters.until});
  const search = h('input', {type: 'search', name: 'q', value: filters.q, autocomplete: 'off',
    placeholder: t('faxes.searchHint')});

  const row = (fax) => {
    const link = h('a', {href: `#/faxes/${fax.id}`}, fax.number || t('fax.unknownNumber'));
    const tr = h('tr', {dataset: {id: fax.id, state: fax.state}},
      h('td', {class: 'c-thumb'}, thumb(fax)),
      h('td', {class: 'c-dir', 'data-label': t('faxes.col.direction')},
        h('span', {class: 'dir', dataset: {dir: fax.direction}}, directionLabel(fax.direction))),
      h('td', {class: 'c-state', 'data-label': t('faxes.col.state')}, stateBadge(fax.state)),
      h('td', {class: 'c-number', 'data-label': t('faxes.col.number')}, link),
      h('td', {class: 'c-remote', 'data-label': t('faxes.col.remote')}, fax.remote_id || ''),
      h('td', {class: 'c-pages', 'data-label': t('faxes.col.pages')}, pagesText(fax)),
      h('td', {class: 'c-device', 'data-label': t('faxes.col.device')}, deviceName(app, fax.device)),
      h('td', {class: 'c-time', 'data-label': t('faxes.col.time')},
        h('time', {datetime: fax.created_at}, formatTime(fax.created_at))));
    return tr;
  };

  const matches = (fax) => {
    if (filters.direction && fax.direction !== filters.direction) return false;
    if (filters.state && fax.state !== filters.state) return false;
    if (filters.device && String(fax.device) !== filters.device) return false;
    if (filters.q) {
      const q = filters.q.toLowerCase();
      if (!(fax.number || '').toLowerCase().includes(q) &&
          !(fax.remote_id || '').toLowerCase().includes(q)) return false;
    }
    const created = new Date(fax.created_at).getTime();
    if (filters.since && created < localDay(filters.since)) return false;
    if (filters.until && created >= localDay(filters.until, 1)) return false;
    return true;
  };

  const query = () => {
    const q = {limit: PAGE};
    for (const k of ['direction', 'state', 'device', 'q']) if (filters[k]) q[k] = filters[k];
    // The user's days, not UTC's: from local midnight to the next local midnight.
    if (filters.since) q.since = localDay(filters.since);
    if (filters.until) q.until = localDay(filters.until, 1);
    return q;
  };

  const load = async (append) => {
    if (loading) loading.abort();
    loading = new AbortController();
    const q = query();
    if (append && next) q.cursor = next;
    status.show(t('faxes.loading'));
    try {
      const page = await api.get('/faxes', q, {signal: loading.signal});
      if (!append) {
        rows.clear();
        replace(tbody);
      }
      for (const fax of page.faxes) {
        if (rows.has(fax.id)) continue;
        const tr = row(fax);
        rows.set(fax.id, {tr, fax});
        tbody.appendChild(tr);
      }
      next = page.next;
      more.hidden = !next;
      empty.hidden = rows.size > 0;
      status.show(t('faxes.shown', {n: rows.size}));
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.show(e.message, 'error');
    } finally {
      loading = null;
    }
  };

  const apply = () => {
    filters.direction = direction.value;
    filters.state = state.value;
    filters.device = device.value;
    filters.since = since.value;
    filters.until = until.value;
    filters.q = search.value.trim();
    const qs = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    history.replaceState(null, '', '#/faxes' + (qs ? '?' + qs : ''));
    load(false);
  };
  for (const c of [direction, state, device, since, until]) c.addEventListener('change', apply);
  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(apply, 300);
  });
  more.addEventListener('click', () => load(true));

  const onFax = (ev) => {
    const fax = ev.detail;
    const known = rows.get(fax.id);
    if (known) {
      if (!matches(fax)) {
        known.tr.remove();
        rows.delete(fax.id);
        return;
      }
      const tr = row(fax);
      known.tr.replaceWith(tr);
      rows.set(fax.id, {tr, fax});
    } else if (matches(fax)) {
      // Newest first: a new fax goes on top (ids grow with time).
      const tr = row(fax);
      rows.set(fax.id, {tr, fax});
      const first = [...rows.values()].map((r) => r.fax.id).filter((id) => id < fax.id)
        .sort((a, b) => b - a)[0];
      if (first !== undefined) tbody.insertBefore(tr, rows.get(first).tr); else tbody.appendChild(tr);
      empty.hidden = true;
    }
  };
  const onDeleted = (ev) => {
    const known = rows.get(ev.detail.id);
    if (known) {
      known.tr.remove();
      rows.delete(ev.detail.id);
      empty.hidden = rows.size > 0;
    }
  };
  const onReconnected = () => load(false);
  app.live.addEventListener('fax', onFax);
  app.live.addEventListener('fax_deleted', onDeleted);
  app.live.addEventListener('reconnected', onReconnected);

  load(false);
  const el = h('section', {class: 'page page-faxes'},
    h('div', {class: 'page-head'}, h('h1', null, t('faxes.title')),
      h('a', {class: 'button primary', href: '#/send'}, t('nav.send'))),
    h('form', {class: 'filters', role: 'search', 'aria-label': t('faxes.filters'),
      onsubmit: (e) => { e.preventDefault(); apply(); }},
    labelled(t('faxes.search'), search), labelled(t('faxes.col.direction'), direction),
    labelled(t('faxes.col.state'), state), labelled(t('faxes.col.device'), device),
    labelled(t('faxes.since'), since), labelled(t('faxes.until'), until)),
    status,
    h('div', {class: 'table-wrap'},
      h('table', {class: 'faxes', 'aria-label': t('faxes.title')},
        h('thead', null, h('tr', null,
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, t('faxes.col.thumb'))),
          h('th', {scope: 'col'}, t('faxes.col.direction')),
          h('th', {scope: 'col'}, t('faxes.col.state')),
          h('th', {scope: 'col'}, t('faxes.col.number')),
          h('th', {scope: 'col'}, t('faxes.col.remote')),
          h('th', {scope: 'col'}, t('faxes.col.pages')),
          h('th', {scope: 'col'}, t('faxes.col.device')),
          h('th', {scope: 'col'}, t('faxes.col.time')))),
        tbody)),
    empty, more);
  return {el, dispose: () => {
    app.live.removeEventListener('fax', onFax);
    app.live.removeEventListener('fax_deleted', onDeleted);
    app.live.removeEventListener('reconnected', onReconnected);
    if (loading) loading.abort();
  }};
}
