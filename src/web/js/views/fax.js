// One fax: every page large, its attempts, the transmission report, downloads and actions
// (cancel, send again / forward, delete; a held print job: the form that releases it to a
// number). Follows the fax live.
import * as api from '../api.js';
import {field, h, replace, statusLine} from '../dom.js';
import {ACTIVE_STATES, deviceName, directionLabel, FINAL_STATES, pagesText, stateBadge}
  from '../format.js';
import {formatTime, t} from '../i18n.js';
import {numberField} from '../number_field.js';

function duration(a) {
  if (!a.started_at || !a.ended_at) return '';
  const s = Math.max(0, Math.round((new Date(a.ended_at) - new Date(a.started_at)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What an attempt's fax data went over, with the audio codec the trunk negotiated. */
function mediaText(a) {
  if (!a.media) return '';
  const media = t('media.' + a.media);
  if (!a.codec) return media;
  return a.media === 'audio' ? `${media}, ${a.codec}` : t('media.switched', {codec: a.codec});
}

/** A modal question with labelled buttons; resolves true/false. */
export function confirmDialog(title, text, yes) {
  return new Promise((resolve) => {
    const dlg = h('dialog', {class: 'confirm', 'aria-labelledby': 'dlg-title'},
      h('h2', {id: 'dlg-title'}, title), h('p', null, text),
      h('div', {class: 'actions'},
        h('button', {type: 'button', onclick: () => dlg.close('no')}, t('common.cancel')),
        h('button', {type: 'button', class: 'danger', onclick: () => dlg.close('yes')}, yes)));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'yes'); });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

// What identifies a control across a redraw: its kind and its accessible name.
function keyOf(node) {
  if (!node || node === document.body || !node.tagName) return '';
  return `${node.tagName}|${node.getAttribute('aria-label') || node.name || node.textContent}`;
}

export function render(app, [idText]) {
  const id = Number(idText);
  const el = h('section', {class: 'page page-fax'});
  const status = statusLine();
  let fax = null;
  let resend = null;  // kept across live redraws: what is typed there stays
  let shownPages = '';
  const pagesBox = h('div', {class: 'pages'});

  const renderPages = () => {
    const n = fax.direction === 'out' ? (fax.pages_total || 0) : (fax.pages || 0);
    // While a fax comes in, its pages are not readable yet: they show once it is received.
    const arriving = fax.state === 'receiving';
    const key = `${n}:${arriving}`;
    if (key === shownPages) return;
    shownPages = key;
    const imgs = [];
    for (let i = 1; i <= n && arriving; i++) {
      imgs.push(h('p', {class: 'page-missing'}, t('fax.pageArriving', {n: i})));
    }
    for (let i = 1; i <= n && !arriving; i++) {
      const img = h('img', {src: api.url(`/faxes/${id}/pages/${i}.png?width=860`), loading: 'lazy',
        width: 860, height: 1100, alt: t('fax.pageAlt', {n: i, total: n}), decoding: 'async'});
      img.addEventListener('error', () => img.replaceWith(h('p', {class: 'page-missing'},
        t('fax.pageMissing', {n: i}))));
      imgs.push(h('figure', null, img, h('figcaption', null, t('fax.pageAlt', {n: i, total: n}))));
    }
    replace(pagesBox, imgs.length ? imgs : h('p', {class: 'empty'}, t('fax.noPages')));
  };

  const action = async (fn, done) => {
    status.show(t('common.working'));
    try {
      const out = await fn();
      status.show(done, 'ok');
      return out;
    } catch (e) {
      status.show(e.message, 'error');
      return undefined;
    }
  };

  const resendForm = () => {
    const to = h('input', {type: 'tel', autocomplete: 'off', value: fax.direction === 'out'
      ? (fax.number || '') : ''});
    const f = field(fax.direction === 'out' ? t('fax.resendTo') : t('fax.forwardTo'), to,
      {name: 'to'});
    const form = h('form', {class: 'inline-form', 'aria-label': t('fax.resendForm')}, f,
      h('button', {type: 'submit'}, fax.direction === 'out' ? t('fax.resend') : t('fax.forward')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = to.value.trim() ? {to: to.value.trim()} : {};
      const created = await action(() => api.post(`/faxes/${id}/resend`, body), t('fax.resent'));
      if (created) app.navigate(`/faxes/${created.id}`);
    });
    return form;
  };

  // A held print job (Print-to-Fax) waits for its number: the same live check as the send form.
  const releaseForm = () => {
    const {wrap: toField, input: to} = numberField();
    const cover = h('input', {type: 'checkbox'});
    const subject = h('input', {type: 'text', maxlength: 200});
    const comment = h('textarea', {rows: 3, maxlength: 2000});
    const coverParts = h('div', {class: 'cover-parts', hidden: true},
      field(t('send.subject'), subject, {name: 'subject'}),
      field(t('send.comment'), comment, {name: 'comment'}));
    cover.addEventListener('change', () => { coverParts.hidden = !cover.checked; });
    const form = h('form', {class: 'release-form', 'aria-labelledby': 'release-title', novalidate: true},
      h('h2', {id: 'release-title'}, t('fax.releaseTitle')),
      h('p', null, t('fax.releaseHint')),
      toField,
      h('div', {class: 'field check'}, h('label', null, cover, ' ', t('send.cover'))),
      coverParts,
      h('button', {type: 'submit', class: 'primary'}, t('fax.release')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!to.value.trim()) { toField.setError(t('fax.releaseNeedsNumber')); to.focus(); return; }
      const body = {to: to.value.trim(), cover: cover.checked};
      if (cover.checked && subject.value) body.subject = subject.value;
      if (cover.checked && comment.value) body.comment = comment.value;
      const out = await action(() => api.post(`/faxes/${id}/release`, body), t('fax.released'));
      if (out) { fax = out; draw(); }
    });
    return form;
  };

  const draw = () => {
    const facts = [
      [t('faxes.col.direction'), directionLabel(fax.direction)],
      [t('faxes.col.state'), stateBadge(fax.state)],
      [t('faxes.col.number'), fax.number || t('fax.unknownNumber')],
      [t('faxes.col.remote'), fax.remote_id || '–'],
      [t('faxes.col.device'), deviceName(app, fax.device) || '–'],
      [t('faxes.col.pages'), pagesText(fax)],
      [t('fax.created'), formatTime(fax.created_at)],
      [t('fax.updated'), formatTime(fax.updated_at)],
    ];
    if (fax.subject) facts.push([t('fax.subject'), fax.subject]);
    if (fax.tsi) facts.push([t('fax.tsi'), fax.tsi]);
    if (fax.next_attempt_at && ACTIVE_STATES.has(fax.state)) {
      facts.push([t('fax.nextAttempt'), formatTime(fax.next_attempt_at)]);
    }
    if (fax.error) facts.push([t('fax.error'), fax.error]);

    const actions = [];
    // The documents exist once the pages are converted (out) or the fax is received (in).
    const documents = fax.direction === 'out'
      ? fax.pages_total > 0 && fax.state !== 'converting'
      : FINAL_STATES.has(fax.state) && fax.pages > 0;
    if (documents) {
      actions.push(h('a', {class: 'button', href: api.url(`/faxes/${id}/document.pdf`),
        download: `fax-${id}.pdf`}, t('fax.downloadPdf')));
      actions.push(h('a', {class: 'button', href: api.url(`/faxes/${id}/document.tiff`),
        download: `fax-${id}.tiff`}, t('fax.downloadTiff')));
    }
    if (ACTIVE_STATES.has(fax.state) && fax.state !== 'receiving' && fax.state !== 'held') {
      actions.push(h('button', {type: 'button', onclick: async () => {
        if (!await confirmDialog(t('fax.cancelTitle'), t('fax.cancelText', {id}), t('fax.cancel'))) return;
        const out = await action(() => api.post(`/faxes/${id}/cancel`), t('fax.canceled'));
        if (out) { fax = out; draw(); }
      }}, t('fax.cancel')));
    }
    actions.push(h('button', {type: 'button', onclick: () => window.print()}, t('fax.printReport')));
    if (FINAL_STATES.has(fax.state) || fax.state === 'held') {
      actions.push(h('button', {type: 'button', class: 'danger', onclick: async () => {
        if (!await confirmDialog(t('fax.deleteTitle'), t('fax.deleteText', {id}), t('fax.delete'))) return;
        const out = await action(() => api.del(`/faxes/${id}`), t('fax.deleted'));
        if (out !== undefined) app.navigate('/faxes');
      }}, t('fax.delete')));
    }

    const attempts = fax.attempts || [];
    const attemptTable = attempts.length === 0 ? h('p', {class: 'empty'}, t('fax.noAttempts')) :
      h('div', {class: 'table-wrap'}, h('table', {class: 'attempts', 'aria-label': t('fax.attempts')},
        h('thead', null, h('tr', null, ['#', t('att.start'), t('att.duration'), t('att.outcome'),
          t('att.reason'), t('att.pages'), t('att.bitrate'), t('att.ecm'), t('att.media'),
          t('att.remote')].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', null, attempts.map((a, i) => h('tr', null,
          h('td', {'data-label': '#'}, String(i + 1)),
          h('td', {'data-label': t('att.start')}, formatTime(a.started_at)),
          h('td', {'data-label': t('att.duration')}, a.ended_at ? duration(a) : t('att.running')),
          h('td', {'data-label': t('att.outcome')}, a.outcome ? t('outcome.' + a.outcome) : '…'),
          h('td', {'data-label': t('att.reason')}, a.reason || ''),
          h('td', {'data-label': t('att.pages')}, String(a.pages ?? '')),
          h('td', {'data-label': t('att.bitrate')}, a.bit_rate ? String(a.bit_rate) : ''),
          h('td', {'data-label': t('att.ecm')}, a.ecm ? t('common.yes') : t('common.no')),
          h('td', {'data-label': t('att.media')}, mediaText(a)),
          h('td', {'data-label': t('att.remote')}, a.remote_id || ''))))));

    const last = attempts[attempts.length - 1];
    const report = h('section', {class: 'report', 'aria-labelledby': 'report-title'},
      h('h2', {id: 'report-title'}, t('fax.report')),
      h('dl', {class: 'facts'}, [
        [t('report.job'), `#${id}`],
        [t('report.direction'), directionLabel(fax.direction)],
        [t('report.station'), fax.tsi || '–'],
        [t('faxes.col.number'), fax.number || '–'],
        [t('faxes.col.remote'), fax.remote_id || '–'],
        [t('report.time'), formatTime(last ? last.started_at : fax.created_at)],
        [t('att.duration'), last ? duration(last) : '–'],
        [t('faxes.col.pages'), pagesText(fax)],
        [t('report.result'), t('state.' + fax.state) + (fax.error ? ` – ${fax.error}` : '')],
        [t('att.bitrate'), last && last.bit_rate ? String(last.bit_rate) : '–'],
        [t('att.ecm'), last ? (last.ecm ? t('common.yes') : t('common.no')) : '–'],
        [t('att.media'), last && last.media ? mediaText(last) : '–'],
        [t('report.attempts'), String(fax.attempt_count ?? attempts.length)],
      ].map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));

    renderPages();
    const focusKey = keyOf(document.activeElement);
    if (FINAL_STATES.has(fax.state) && !resend) resend = resendForm();
    replace(el,
      h('p', {class: 'back'}, h('a', {href: '#/faxes'}, t('fax.back'))),
      h('div', {class: 'page-head'}, h('h1', null, t('fax.title', {id})), stateBadge(fax.state)),
      h('dl', {class: 'facts'}, facts.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
      h('div', {class: 'actions', role: 'group', 'aria-label': t('fax.actions')}, actions),
      status,
      fax.state === 'held' ? releaseForm() : null,
      FINAL_STATES.has(fax.state) ? resend : null,
      h('h2', null, t('fax.pages')), pagesBox,
      h('h2', null, t('fax.attempts')), attemptTable,
      report);
    // A live update must not take the keyboard user's place away.
    if (focusKey) {
      const again = [...el.querySelectorAll('button, a, input')].find((x) => keyOf(x) === focusKey);
      if (again && again !== document.activeElement) again.focus();
    }
  };

  const onFax = (ev) => {
    if (ev.detail.id !== id) return;
    fax = ev.detail;
    draw();
  };
  const onDeleted = (ev) => {
    if (ev.detail.id === id) app.navigate('/faxes');
  };
  app.live.addEventListener('fax', onFax);
  app.live.addEventListener('fax_deleted', onDeleted);

  replace(el, h('h1', null, t('fax.title', {id})), status);
  status.show(t('faxes.loading'));
  api.get(`/faxes/${id}`).then((f) => { fax = f; status.show(''); draw(); })
    .catch((e) => replace(el, h('h1', null, t('fax.title', {id})),
      h('p', {role: 'alert'}, e.status === 404 ? t('fax.notFound') : e.message),
      h('p', null, h('a', {href: '#/faxes'}, t('fax.back')))));
  return {el, dispose: () => {
    app.live.removeEventListener('fax', onFax);
    app.live.removeEventListener('fax_deleted', onDeleted);
  }};
}
