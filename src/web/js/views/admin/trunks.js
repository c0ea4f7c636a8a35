// Admin: the trunks to the PBX. IAX2 (GET|PUT /trunks/iax2, POST /trunks/iax2/peers[/remove]):
// bind address, outbound route, codecs, peers and registrations, with their live state
// (registered, address, last error) refreshed every 5 s while the page is open. SIP (GET|PUT
// /trunks/sip, POST|DELETE /trunks/sip/peers and /registrations): listen addresses, T.38, codecs,
// session timers, peers and registrations with their live state. Each trunk kind is one section
// built by a function of its own (iax2Section, sipSection).
import * as api from '../../api.js';
import {h, replace, statusLine} from '../../dom.js';
import {t} from '../../i18n.js';
import {confirmDialog} from '../fax.js';
import {button, dataTable, facts, poll, showError, yesNo} from './common.js';
import {adminPage, changes, jsonForm} from './layout.js';

const REFRESH_MS = 5000;

function stateBadge(ok, yes, no) {
  return h('span', {class: 'badge', dataset: {state: ok ? 'done' : 'failed'}}, ok ? yes : no);
}

/** A little form of its own (its fields, a submit button, its status line). */
function subForm(id, title, specs, submitLabel, onSubmit) {
  const form = jsonForm(specs);
  const status = statusLine();
  const el = h('form', {class: 'card', novalidate: true, 'aria-labelledby': id},
    h('h3', {id}, title), h('div', {class: 'form-grid'}, form.el),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, submitLabel)), status);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    form.clearErrors();
    try {
      await onSubmit(form, status);
    } catch (err) {
      showError(form, status, err, [[/secret/i, 'secret'], [/port/i, 'port'], [/host/i, 'host'],
        [/server/i, 'server'], [/user/i, 'username'], [/name/i, 'name'], [/bind|address|listen/i, 'bind'],
        [/codec/i, 'codecs'], [/outbound|route/i, 'outbound'], [/refresh/i, 'refresh_seconds']]);
    }
  });
  return {el, form, status};
}

function iax2Section(status) {
  const live = h('div', {'aria-live': 'polite'});
  const peersBox = h('div');
  const regsBox = h('div');
  let last = null;
  let shown = '';

  const settings = subForm('iax2-settings', t('trunk.settings'), [
    {key: 'bind', label: t('trunk.bind'), hint: t('trunk.bindHint')},
    {key: 'outbound', label: t('trunk.outbound'), hint: t('trunk.outboundHint')},
    {key: 'codecs', label: t('trunk.codecs'), hint: t('trunk.codecsHint')},
  ], t('common.save'), async (form, st) => {
    const diff = changes({bind: last.bind, outbound: last.outbound, codecs: last.codecs}, form.read());
    if (Object.keys(diff).length === 0) return st.show(t('common.nothingChanged'));
    draw(await api.put('/trunks/iax2', diff), true);
    st.show(t('common.saved'), 'ok');
  });

  const peerForm = subForm('iax2-peer', t('trunk.addPeer'), [
    {key: 'name', label: t('trunk.peerName'), hint: t('trunk.peerNameHint')},
    {key: 'secret', label: t('trunk.secret'), type: 'password'},
    {key: 'host', label: t('trunk.host'), hint: t('trunk.hostHint')},
    {key: 'port', label: t('trunk.port'), type: 'number', min: 1, max: 65535},
    {key: 'username', label: t('trunk.username')},
    {key: 'trunk', label: t('trunk.trunkFrames'), type: 'bool', hint: t('trunk.trunkFramesHint')},
    {key: 'calltoken', label: t('trunk.calltoken'), type: 'select', hint: t('trunk.calltokenHint'),
      options: [['required', t('trunk.calltoken.required')], ['optional', t('trunk.calltoken.optional')]]},
  ], t('trunk.addPeer'), async (form, st) => {
    const v = form.read();
    const body = {name: v.name.trim(), host: v.host.trim(), username: v.username.trim(),
      trunk: v.trunk, calltoken: v.calltoken || 'required'};
    // Without "secret" a peer that exists keeps its own; a new one is refused without one.
    if (v.secret) body.secret = v.secret;
    if (v.port) body.port = v.port;
    draw(await api.post('/trunks/iax2/peers', body));
    resetPeerForm();
    st.show(t('trunk.peerAdded', {name: body.name}), 'ok');
  });
  const peerTitle = peerForm.el.querySelector('h3');
  const peerSubmit = peerForm.el.querySelector('button[type=submit]');
  const resetPeerForm = () => {
    peerForm.form.write({port: 4569, calltoken: 'required'});
    peerForm.form.fields.get('secret').control.placeholder = '';
    peerTitle.textContent = t('trunk.addPeer');
    peerSubmit.textContent = t('trunk.addPeer');
  };
  const editPeer = (p) => {
    peerForm.form.clearErrors();
    peerForm.form.write({...p, secret: ''});
    peerForm.form.fields.get('secret').control.placeholder = t('trunk.secretKept');
    peerTitle.textContent = t('trunk.changePeer', {name: p.name});
    peerSubmit.textContent = t('trunk.savePeer');
    peerForm.form.focus('name');
    peerForm.el.scrollIntoView({block: 'nearest'});
  };
  resetPeerForm();

  const regForm = subForm('iax2-reg', t('trunk.addRegistration'), [
    {key: 'server', label: t('trunk.server')},
    {key: 'port', label: t('trunk.port'), type: 'number', min: 1, max: 65535},
    {key: 'username', label: t('trunk.username')},
    {key: 'secret', label: t('trunk.secret'), type: 'password'},
    {key: 'refresh_seconds', label: t('trunk.refresh'), type: 'number', min: 10, max: 3600},
    {key: 'trunk', label: t('trunk.trunkFrames'), type: 'bool', hint: t('trunk.trunkFramesHint')},
  ], t('trunk.addRegistration'), async (form, st) => {
    const v = form.read();
    const added = {server: v.server.trim(), username: v.username.trim(), secret: v.secret,
      trunk: v.trunk};
    if (v.port) added.port = v.port;
    if (v.refresh_seconds) added.refresh_seconds = v.refresh_seconds;
    draw(await api.put('/trunks/iax2', {registrations: [...keptRegistrations(), added]}));
    form.write({port: 4569, refresh_seconds: 60});
    st.show(t('trunk.registrationAdded', {name: `${added.username}@${added.server}`}), 'ok');
  });
  regForm.form.write({port: 4569, refresh_seconds: 60});

  // The registrations as PUT takes them back: without "secret", each keeps its own.
  const keptRegistrations = (skip) => (last ? last.registrations : []).filter((r) => r !== skip)
    .map((r) => ({server: r.server, port: r.port, username: r.username,
      refresh_seconds: r.refresh_seconds, trunk: r.trunk, trunk_timestamps: r.trunk_timestamps}));

  const removePeer = async (p) => {
    if (!await confirmDialog(t('trunk.removePeerTitle'), t('trunk.removePeerText', {name: p.name}),
      t('trunk.remove'))) return;
    try {
      draw(await api.post('/trunks/iax2/peers/remove', {name: p.name}));
      status.show(t('trunk.peerRemoved', {name: p.name}), 'ok');
    } catch (err) { status.show(err.message, 'error'); }
  };
  const removeRegistration = async (r) => {
    const name = `${r.username}@${r.server}`;
    if (!await confirmDialog(t('trunk.removeRegTitle'), t('trunk.removeRegText', {name}),
      t('trunk.remove'))) return;
    try {
      draw(await api.put('/trunks/iax2', {registrations: keptRegistrations(r)}));
      status.show(t('trunk.registrationRemoved', {name}), 'ok');
    } catch (err) { status.show(err.message, 'error'); }
  };

  // Redraws the live parts only when something changed, so focus and reading stay put.
  const draw = (s, settingsToo = false) => {
    const first = last === null;
    last = s;
    if (first || settingsToo) settings.form.write(s);
    const key = JSON.stringify({...s, stats: null});
    if (key === shown && !settingsToo) {
      updateStats(s);
      return;
    }
    shown = key;
    updateStats(s);
    replace(peersBox, dataTable(t('trunk.peers'), [
      {label: t('trunk.peerName'), cell: (p) => h('strong', null, p.name)},
      {label: t('trunk.state'), cell: (p) => stateBadge(p.registered || !!p.host,
        p.registered ? t('trunk.registered') : t('trunk.static'), t('trunk.notRegistered'))},
      {label: t('trunk.address'), cell: (p) => p.address || (p.host ? `${p.host}:${p.port}` : '–')},
      {label: t('trunk.username'), cell: (p) => p.username || '–'},
      {label: t('trunk.trunkFrames'), cell: (p) => yesNo(p.trunk)},
      {label: t('trunk.calltoken'), cell: (p) => t('trunk.calltoken.' + (p.calltoken || 'required'))},
      {label: t('trunk.source'), cell: (p) => t('trunk.source.' + p.source)},
    ], s.peers || [], {empty: t('trunk.noPeers'), actions: (p) => (p.source === 'api'
      ? [button(t('adm.edit'), () => editPeer(p), {label: t('trunk.editPeerNamed', {name: p.name})}),
        button(t('trunk.remove'), () => removePeer(p),
          {kind: 'danger', label: t('trunk.removePeerNamed', {name: p.name})})]
      : [h('span', {class: 'muted'}, t('trunk.fromConfig'))])}));
    replace(regsBox, dataTable(t('trunk.registrations'), [
      {label: t('trunk.server'), cell: (r) => h('strong', null, `${r.server}:${r.port}`)},
      {label: t('trunk.username'), cell: (r) => r.username},
      {label: t('trunk.state'), cell: (r) => stateBadge(r.registered, t('trunk.registered'),
        t('trunk.notRegistered'))},
      {label: t('trunk.lastError'), cell: (r) => r.last_error || '–'},
      {label: t('trunk.refresh'), cell: (r) => String(r.refresh_seconds)},
      {label: t('trunk.trunkFrames'), cell: (r) => yesNo(r.trunk)},
    ], s.registrations || [], {empty: t('trunk.noRegistrations'), actions: (r) => [
      button(t('trunk.remove'), () => removeRegistration(r), {kind: 'danger',
        label: t('trunk.removeRegNamed', {name: `${r.username}@${r.server}`})})]}));
  };

  const updateStats = (s) => {
    const st = s.stats || {};
    replace(live, facts([
      [t('trunk.running'), stateBadge(s.running, t('trunk.up'), t('trunk.down'))],
      [t('trunk.bound'), s.bound || '–'],
      [t('trunk.calls'), String(s.calls ?? 0)],
      s.stats ? [t('trunk.frames'), t('trunk.framesText', {in: st.frames_in ?? 0,
        out: st.frames_out ?? 0, dropped: st.dropped ?? 0, retransmits: st.retransmits ?? 0,
        auth: st.auth_failures ?? 0})] : null,
    ]));
  };

  const refresh = async () => {
    try {
      draw(await api.get('/trunks/iax2'));
    } catch (err) {
      status.show(err.message, 'error');
    }
  };

  const el = h('section', {class: 'trunk', 'aria-labelledby': 'iax2-title'},
    h('h2', {id: 'iax2-title'}, t('trunk.iax2')), live, settings.el,
    h('h3', null, t('trunk.peers')), peersBox, peerForm.el,
    h('h3', null, t('trunk.registrations')), regsBox, regForm.el);
  return {el, refresh};
}

const SIP_TRANSPORTS = [['udp', 'UDP'], ['tcp', 'TCP'], ['tls', 'TLS']];

/** The SIP trunk: general settings, peers and registrations, each API entry editable. */
function sipSection(status) {
  const live = h('div', {'aria-live': 'polite'});
  const peersBox = h('div');
  const regsBox = h('div');
  const callerIds = () => [['from', t('sip.callerId.from')], ['pai', t('sip.callerId.pai')],
    ['both', t('sip.callerId.both')]];
  let last = null;
  let shown = '';
  const general = ['listen', 'outbound', 'codecs', 't38', 't38_ec', 'session_expires',
    'min_session_expires', 'rtp_ports'];
  const pick = (s) => Object.fromEntries(general.map((k) => [k, s[k]]));

  const settings = subForm('sip-settings', t('sip.settings'), [
    {key: 'listen', label: t('sip.listen'), type: 'list', hint: t('sip.listenHint')},
    {key: 'outbound', label: t('trunk.outbound'), hint: t('sip.outboundHint')},
    {key: 'codecs', label: t('trunk.codecs'), hint: t('sip.codecsHint')},
    {key: 't38', label: t('sip.t38'), type: 'select', hint: t('sip.t38Hint'),
      options: ['off', 'accept', 'detect', 'immediate'].map((m) => [m, t('sip.t38.' + m)])},
    {key: 't38_ec', label: t('sip.t38Ec'), type: 'select',
      options: [['redundancy', t('sip.ec.redundancy')], ['fec', 'FEC'], ['none', t('sip.ec.none')]]},
    {key: 'session_expires', label: t('sip.sessionExpires'), type: 'number', min: 90, max: 86400,
      hint: t('sip.sessionExpiresHint')},
    {key: 'min_session_expires', label: t('sip.minSessionExpires'), type: 'number', min: 90,
      max: 86400},
    {key: 'rtp_ports', label: t('sip.rtpPorts'), hint: t('sip.rtpPortsHint')},
  ], t('common.save'), async (form, st) => {
    const diff = changes(pick(last), form.read());
    if (Object.keys(diff).length === 0) return st.show(t('common.nothingChanged'));
    draw(await api.put('/trunks/sip', diff), true);
    st.show(t('common.saved'), 'ok');
  });

  // Adds or, after "Edit", changes one API entry; without a secret typed, the stored one stays.
  const entryForm = (id, kind, specs, defaults) => {
    const f = subForm(id, t(`sip.add.${kind}`), specs, t(`sip.add.${kind}`), async (form, st) => {
      const v = form.read();
      const body = {};
      for (const [k, x] of Object.entries(v)) {
        if (x === null || (k === 'secret' && x === '')) continue;
        body[k] = typeof x === 'string' ? x.trim() : x;
      }
      draw(await api.post(`/trunks/sip/${kind === 'peer' ? 'peers' : 'registrations'}`, body));
      reset();
      st.show(t(`sip.saved.${kind}`, {name: body.name}), 'ok');
    });
    const title = f.el.querySelector('h3');
    const submit = f.el.querySelector('button[type=submit]');
    const reset = () => {
      f.form.write(defaults);
      f.form.fields.get('secret').control.placeholder = '';
      title.textContent = t(`sip.add.${kind}`);
      submit.textContent = t(`sip.add.${kind}`);
    };
    const edit = (e) => {
      f.form.clearErrors();
      f.form.write({...e, secret: ''});
      f.form.fields.get('secret').control.placeholder = t('trunk.secretKept');
      title.textContent = t(`sip.change.${kind}`, {name: e.name});
      submit.textContent = t(`sip.save.${kind}`);
      f.form.focus('name');
      f.el.scrollIntoView({block: 'nearest'});
    };
    reset();
    return {...f, edit};
  };

  const peerForm = entryForm('sip-peer', 'peer', [
    {key: 'name', label: t('sip.peerName'), hint: t('sip.nameHint')},
    {key: 'host', label: t('trunk.host'), hint: t('sip.hostHint')},
    {key: 'port', label: t('trunk.port'), type: 'number', min: 1, max: 65535},
    {key: 'transport', label: t('sip.transport'), type: 'select', options: SIP_TRANSPORTS},
    {key: 'match', label: t('sip.match'), type: 'list', hint: t('sip.matchHint')},
    {key: 'username', label: t('trunk.username'), hint: t('sip.peerUserHint')},
    {key: 'secret', label: t('trunk.secret'), type: 'password', hint: t('sip.secretHint')},
    {key: 'domain', label: t('sip.domain'), hint: t('sip.peerDomainHint')},
    {key: 'caller_id', label: t('sip.callerId'), type: 'select', options: callerIds()},
    {key: 't38', label: 'T.38', type: 'bool', hint: t('sip.entryT38Hint')},
    {key: 'keepalive', label: t('sip.keepalive'), type: 'number', min: 0, max: 3600,
      hint: t('sip.keepaliveHint')},
  ], {port: 5060, transport: 'udp', caller_id: 'from', t38: true, keepalive: 60});

  const regForm = entryForm('sip-reg', 'registration', [
    {key: 'name', label: t('sip.registrationName'), hint: t('sip.nameHint')},
    {key: 'registrar', label: t('sip.registrar'), hint: t('sip.registrarHint')},
    {key: 'backup_registrar', label: t('sip.backupRegistrar'), hint: t('sip.backupRegistrarHint')},
    {key: 'transport', label: t('sip.transport'), type: 'select', options: SIP_TRANSPORTS},
    {key: 'username', label: t('trunk.username')},
    {key: 'auth_username', label: t('sip.authUsername'), hint: t('sip.authUsernameHint')},
    {key: 'secret', label: t('trunk.secret'), type: 'password', hint: t('sip.secretHint')},
    {key: 'domain', label: t('sip.domain'), hint: t('sip.domainHint')},
    {key: 'expires', label: t('sip.expires'), type: 'number', min: 60, max: 3600},
    {key: 'caller_id', label: t('sip.callerId'), type: 'select', options: callerIds()},
    {key: 't38', label: 'T.38', type: 'bool', hint: t('sip.entryT38Hint')},
  ], {transport: 'udp', expires: 300, caller_id: 'from', t38: true});

  const remove = async (kind, e) => {
    if (!await confirmDialog(t(`sip.removeTitle.${kind}`), t(`sip.removeText.${kind}`, {name: e.name}),
      t('trunk.remove'))) return;
    try {
      draw(await api.del(`/trunks/sip/${kind === 'peer' ? 'peers' : 'registrations'}/` +
        encodeURIComponent(e.name)));
      status.show(t(`sip.removed.${kind}`, {name: e.name}), 'ok');
    } catch (err) { status.show(err.message, 'error'); }
  };
  const actions = (kind, form) => (e) => (e.source === 'api'
    ? [button(t('adm.edit'), () => form.edit(e), {label: t(`sip.editNamed.${kind}`, {name: e.name})}),
      button(t('trunk.remove'), () => remove(kind, e),
        {kind: 'danger', label: t(`sip.removeNamed.${kind}`, {name: e.name})})]
    : [h('span', {class: 'muted'}, t('trunk.fromConfig'))]);

  const draw = (s, settingsToo = false) => {
    const first = last === null;
    last = s;
    if (first || settingsToo) settings.form.write(pick(s));
    const key = JSON.stringify({...s, stats: null});
    if (key === shown && !settingsToo) return;
    shown = key;
    replace(live, facts([
      [t('trunk.running'), stateBadge(s.running, t('trunk.up'), t('trunk.down'))],
      s.error ? [t('trunk.reason'), s.error] : null,
      [t('trunk.bound'), (s.listening || []).join(', ') || '–'],
      [t('trunk.calls'), String(s.calls ?? 0)],
    ]));
    replace(peersBox, dataTable(t('trunk.peers'), [
      {label: t('sip.peerName'), cell: (p) => h('strong', null, p.name)},
      {label: t('trunk.state'), cell: (p) => ('reachable' in p
        ? stateBadge(p.reachable, t('sip.reachable'), t('sip.unreachable')) : '–')},
      {label: t('trunk.host'), cell: (p) => (p.host ? `${p.transport}:${p.host}:${p.port}`
        : t('sip.inboundOnly'))},
      {label: t('sip.match'), cell: (p) => (p.match || []).join(', ') || '–'},
      {label: t('trunk.username'), cell: (p) => p.username || '–'},
      {label: t('trunk.lastError'), cell: (p) => p.last_error || '–'},
      {label: t('trunk.source'), cell: (p) => t('trunk.source.' + p.source)},
    ], s.peers || [], {empty: t('trunk.noPeers'), actions: actions('peer', peerForm)}));
    replace(regsBox, dataTable(t('trunk.registrations'), [
      {label: t('sip.registrationName'), cell: (r) => h('strong', null, r.name)},
      {label: t('trunk.state'), cell: (r) => stateBadge(r.registered, t('trunk.registered'),
        t('trunk.notRegistered'))},
      {label: t('sip.registrar'), cell: (r) => (r.registered && r.registrar_in_use
        ? r.registrar_in_use : r.registrar)},
      {label: t('trunk.username'), cell: (r) => r.username},
      {label: t('trunk.lastError'), cell: (r) => r.last_error || '–'},
      {label: t('sip.expires'), cell: (r) => String(r.expires)},
      {label: t('trunk.source'), cell: (r) => t('trunk.source.' + r.source)},
    ], s.registrations || [], {empty: t('trunk.noRegistrations'),
      actions: actions('registration', regForm)}));
  };

  const refresh = async () => {
    try {
      draw(await api.get('/trunks/sip'));
    } catch (err) {
      status.show(err.message, 'error');
    }
  };

  const el = h('section', {class: 'trunk', 'aria-labelledby': 'sip-title'},
    h('h2', {id: 'sip-title'}, t('sip.title')), live, settings.el,
    h('h3', null, t('trunk.peers')), peersBox, peerForm.el,
    h('h3', null, t('trunk.registrations')), regsBox, regForm.el);
  return {el, refresh};
}

export function render() {
  const status = statusLine();
  const overview = h('div', {'aria-live': 'polite'});
  // One section per trunk kind, each {el, refresh}.
  const sections = [iax2Section(status), sipSection(status)];
  const refreshOverview = async () => {
    const lines = await api.get('/lines');
    replace(overview, dataTable(t('trunk.overview'), [
      {label: t('trunk.name'), cell: (x) => h('strong', null, x.name)},
      {label: t('trunk.state'), cell: (x) => stateBadge(x.up, t('trunk.up'), t('trunk.down'))},
      {label: t('trunk.reason'), cell: (x) => x.reason || '–'},
      {label: t('trunk.calls'), cell: (x) => String(x.calls ?? 0)},
      {label: t('trunk.registrations'), cell: (x) => (x.registrations || []).map((r) =>
        `${r.name}: ${r.registered ? t('trunk.registered') : t('trunk.notRegistered')}`)
        .join(', ') || '–'},
    ], lines.trunks || []));
  };
  const timer = poll(async () => {
    await Promise.all([...sections.map((x) => x.refresh()),
      refreshOverview().catch((e) => status.show(e.message, 'error'))]);
  }, REFRESH_MS);
  const el = adminPage('trunks', h('h1', null, t('admin.trunks')), status,
    h('p', {class: 'field-hint'}, t('trunk.intro')), overview, sections.map((x) => x.el));
  return {el, dispose: () => timer.stop()};
}
