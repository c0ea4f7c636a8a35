// Admin: the fax devices (GET|POST /devices, PUT|DELETE /devices/{id}): extension, e-mail and
// its format, TSI, Mail-to-Fax PIN, and who it belongs to (a user device's owner, a team
// device's members, chosen from the users).
import * as api from '../../api.js';
import {h, replace, statusLine} from '../../dom.js';
import {t} from '../../i18n.js';
import {confirmDialog} from '../fax.js';
import {button, dataTable, editCard, searchBox, showError, yesNo} from './common.js';
import {adminPage, jsonForm} from './layout.js';

const HINTS = [[/e-?mail/i, 'email'], [/TSI|fax identifier/i, 'tsi'], [/\bPIN\b|^pin/i, 'pin'],
  [/extension/i, 'extension'], [/name of|needs a name/i, 'name'], [/owner|there is no user/i, 'owner'],
  [/members/i, 'members'], [/kind/i, 'kind'], [/format/i, 'inbound_format']];
const FORMATS = ['pdf', 'tiff', 'inline'];

export function render(app) {
  const status = statusLine();
  const body = h('div', null, h('p', null, t('faxes.loading')));
  const el = adminPage('devices',
    h('div', {class: 'page-head'}, h('h1', null, t('admin.devices'))), status, body);

  const build = (users) => {
    const userName = (id) => {
      const u = users.find((x) => x.id === id);
      return u ? (u.name ? `${u.name} (${u.username})` : u.username) : `#${id}`;
    };
    const userOptions = users.map((u) => [String(u.id), userName(u.id)]);
    const form = jsonForm([
      {key: 'kind', label: t('device.kind'), type: 'select',
        options: [['user', t('device.kind.user')], ['team', t('device.kind.team')]]},
      {key: 'name', label: t('device.name')},
      {key: 'email', label: t('device.email'), hint: t('device.emailHint')},
      {key: 'extension', label: t('device.extension'), hint: t('device.extensionHint')},
      {key: 'inbound_format', label: t('device.format'), type: 'select',
        options: FORMATS.map((f) => [f, t('device.format.' + f)])},
      {key: 'tsi', label: t('device.tsi'), hint: t('device.tsiHint')},
      {key: 'pin', label: t('device.pin'), type: 'password', hint: t('device.pinHint')},
      {key: 'clear_pin', label: t('device.clearPin'), type: 'bool'},
      {key: 'owner', label: t('device.owner'), type: 'select',
        options: [['', t('device.noOwner')], ...userOptions]},
      userOptions.length ? {key: 'members', label: t('device.members'), type: 'checks',
        options: userOptions} : null,
    ].filter(Boolean));
    form.fields.get('email').control.type = 'email';
    form.fields.get('extension').control.inputMode = 'numeric';
    form.fields.get('pin').control.inputMode = 'numeric';
    const f = (k) => form.fields.get(k);
    let editing = null;

    const showKind = () => {
      const team = f('kind').control.value === 'team';
      f('owner').wrap.hidden = team;
      if (f('members')) f('members').wrap.hidden = !team;
    };
    f('kind').control.addEventListener('change', showKind);

    const card = editCard('device-form', form.el, {
      onSubmit: async (st) => {
        form.clearErrors();
        const v = form.read();
        const out = {kind: v.kind, name: v.name.trim(), email: v.email.trim(),
          extension: v.extension.trim(), inbound_format: v.inbound_format};
        const tsi = v.tsi.trim();
        if (editing) {
          if (tsi) out.tsi = tsi; else if (editing.tsi_custom) out.tsi_custom = false;
        } else if (tsi) out.tsi = tsi;
        if (v.pin) out.pin = v.pin; else if (v.clear_pin) out.pin = null;
        if (v.kind === 'user') {
          out.owner = v.owner ? Number(v.owner) : null;
          if (editing && editing.kind === 'team') out.members = [];
        } else {
          out.members = (v.members || []).map(Number);
          if (editing && editing.kind === 'user') out.owner = null;
        }
        try {
          if (editing) {
            await api.put(`/devices/${editing.id}`, out);
            status.show(t('device.saved', {name: out.name}), 'ok');
          } else {
            await api.post('/devices', out);
            status.show(t('device.added', {name: out.name}), 'ok');
          }
          card.close();
          load();
        } catch (err) {
          showError(form, st, err, HINTS);
        }
      },
    });

    const open = (d) => {
      editing = d;
      form.clearErrors();
      form.write(d ? {...d, tsi: d.tsi_custom ? d.tsi : '', pin: '', clear_pin: false,
        owner: d.owner ? String(d.owner) : '', members: (d.members || []).map(String)}
        : {kind: 'user', inbound_format: 'pdf', owner: '', members: []});
      f('tsi').control.placeholder = d && !d.tsi_custom ? d.tsi : '';
      f('clear_pin').wrap.hidden = !(d && d.has_pin);
      showKind();
      card.open(d ? t('device.editTitle', {name: d.name}) : t('device.addTitle'),
        d ? t('common.save') : t('device.create'));
    };

    const remove = async (d) => {
      if (!await confirmDialog(t('device.deleteTitle'), t('device.deleteText', {name: d.name}),
        t('device.delete'))) return;
      try {
        await api.del(`/devices/${d.id}`);
        status.show(t('device.deleted', {name: d.name}), 'ok');
        if (editing && editing.id === d.id) card.close();
        load();
      } catch (err) { status.show(err.message, 'error'); }
    };

    const list = h('div');
    let devices = [];
    const search = searchBox(t('device.search'), (d) => [d.name, d.extension, d.email, d.tsi,
      d.owner ? userName(d.owner) : '', ...(d.members || []).map(userName)], () => draw());
    const draw = () => {
      replace(list, dataTable(t('admin.devices'), [
        {label: t('device.name'), cell: (d) => h('strong', null, d.name)},
        {label: t('device.extension'), cell: (d) => d.extension},
        {label: t('device.kind'), cell: (d) => t('device.kind.' + d.kind)},
        {label: t('device.belongsTo'), cell: (d) => (d.kind === 'team'
          ? ((d.members || []).map(userName).join(', ') || '–')
          : (d.owner ? userName(d.owner) : '–'))},
        {label: t('device.email'), cell: (d) => d.email},
        {label: t('device.format'), cell: (d) => t('device.format.' + d.inbound_format)},
        {label: t('device.tsi'), cell: (d) => d.tsi || '–'},
        {label: t('device.hasPin'), cell: (d) => yesNo(d.has_pin)},
      ], devices.filter(search.match), {
        empty: devices.length ? t('adm.noMatch') : t('device.none'),
        actions: (d) => [
          button(t('adm.edit'), () => open(d), {label: t('device.editNamed', {name: d.name})}),
          button(t('device.delete'), () => remove(d),
            {kind: 'danger', label: t('device.deleteNamed', {name: d.name})}),
        ]}));
    };
    const load = async () => {
      try {
        devices = (await api.get('/devices')).devices || [];
        draw();
      } catch (err) { status.show(err.message, 'error'); }
    };
    el.querySelector('.page-head').appendChild(
      button(t('device.add'), () => open(null), {kind: 'primary'}));
    replace(body, card, search, list);
    load();
  };

  api.get('/users').then((out) => build(out.users || []))
    .catch((err) => { status.show(err.message, 'error'); replace(body); });
  return el;
}
