// Pieces the admin pages share: tables that stack on a phone, edit forms that open below a list,
// a password dialog, API errors put next to the field they are about, and polling that stops
// with the page.
import {field, h, replace, statusLine} from '../../dom.js';
import {t} from '../../i18n.js';
import {fieldOfError} from './layout.js';

/**
 * A table: `columns` is [{label, cell(row) → text|Node, key?}]; `actions(row)` gives the last
 * cell's buttons. Cells carry data-label so that the table stacks on a phone (class `stack`).
 */
export function dataTable(label, columns, rows, {actions, empty} = {}) {
  if (!rows.length) return h('p', {class: 'empty'}, empty || t('adm.none'));
  return h('div', {class: 'table-wrap'}, h('table', {class: 'stack', 'aria-label': label},
    h('thead', null, h('tr', null, columns.map((c) => h('th', {scope: 'col'}, c.label)),
      actions ? h('th', {scope: 'col'}, t('adm.actions')) : null)),
    h('tbody', null, rows.map((row) => h('tr', null,
      columns.map((c) => h('td', {'data-label': c.label}, c.cell(row))),
      actions ? h('td', {'data-label': t('adm.actions')},
        h('div', {class: 'row-actions'}, actions(row))) : null)))));
}

/** A button with visible text and, when given, a longer accessible name ("Edit alice"). */
export function button(text, onclick, {label, kind, type = 'button'} = {}) {
  return h('button', {type, class: kind, 'aria-label': label, onclick}, text);
}

/** "yes"/"no" as text. */
export const yesNo = (v) => (v ? t('common.yes') : t('common.no'));

/**
 * Which field an API error is about: the field the message starts with (as layout.js reads
 * it), else the first `hints` pattern that matches ([regex, key] pairs).
 */
export function errorField(message, keys, hints = []) {
  const direct = fieldOfError(message || '', keys);
  if (direct) return direct;
  for (const [re, key] of hints) if (re.test(message || '') && keys.includes(key)) return key;
  return null;
}

/** Shows an API error next to its field (jsonForm) and in `status`. */
export function showError(form, status, err, hints) {
  const key = errorField(err.message, [...form.fields.keys()], hints);
  if (key) {
    form.setError(key, err.message);
    form.focus(key);
  }
  status.show(err.message, 'error');
  return key;
}

/**
 * A form card that opens below a list to add or edit one thing. `body` are its fields;
 * `onSubmit()` returns a promise (rejections are shown by the caller). Returns the card with
 * open(title) and close().
 */
export function editCard(id, body, {onSubmit, submitLabel, onClose}) {
  const title = h('h2', {id: `${id}-title`});
  const submit = h('button', {type: 'submit', class: 'primary'}, submitLabel || t('common.save'));
  const status = statusLine();
  const form = h('form', {class: 'card edit', novalidate: true, 'aria-labelledby': `${id}-title`,
    hidden: true}, title, body, h('div', {class: 'actions'}, submit,
    h('button', {type: 'button', onclick: () => close()}, t('common.cancel'))), status);
  let opener = null;
  const close = () => {
    form.hidden = true;
    status.show('');
    if (onClose) onClose();
    // Back to where the keyboard was (the button that opened the form), if it is still there.
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    status.show(t('common.working'));
    try {
      await onSubmit(status);
    } finally {
      submit.disabled = false;
    }
  });
  form.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
  form.open = (text, label) => {
    if (form.hidden) opener = document.activeElement;
    title.textContent = text;
    submit.textContent = label || submitLabel || t('common.save');
    status.show('');
    form.hidden = false;
    const first = form.querySelector('input:not([type=hidden]):not([disabled]), select');
    if (first) first.focus();
    form.scrollIntoView({block: 'nearest'});
  };
  form.close = close;
  form.status = status;
  return form;
}

/** A modal asking for a new password; resolves with it, or null when canceled. */
export function passwordDialog(title, submitLabel, save) {
  return new Promise((resolve) => {
    const input = h('input', {type: 'password', autocomplete: 'new-password', minlength: 8});
    const f = field(t('adm.newPassword'), input, {name: 'password', hint: t('adm.passwordHint')});
    const form = h('form', {method: 'dialog', novalidate: true}, f,
      h('div', {class: 'actions'},
        h('button', {type: 'button', onclick: () => dlg.close('no')}, t('common.cancel')),
        h('button', {type: 'submit', class: 'primary'}, submitLabel)));
    const dlg = h('dialog', {'aria-labelledby': 'pw-dlg-title'},
      h('h2', {id: 'pw-dlg-title'}, title), form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      f.setError('');
      if (input.value.length < 8) return f.setError(t('adm.passwordShort'));
      try {
        await save(input.value);
        dlg.close('yes');
      } catch (err) {
        f.setError(err.message);
        input.focus();
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'yes'); });
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  });
}

/**
 * Calls `fn` now and every `ms` while the page is shown (the page's dispose stops it); a slow
 * answer never overlaps the next call.
 */
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    try { await fn(); } catch (_) { /* fn shows its own errors */ }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return {
    stop: () => { stopped = true; if (timer) clearTimeout(timer); },
    now: () => { if (timer) clearTimeout(timer); run(); },
  };
}

/** A small key/value list. */
export function facts(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([k, v]) =>
    [h('dt', null, k), h('dd', null, v === '' || v === null || v === undefined ? '–' : v)]));
}

/** Replaces the children of `box` with a "loading" or error line. */
export function loadError(box, err) {
  replace(box, h('p', {role: 'alert'}, err.message));
}

/**
 * A search field over a list: calls `onChange(matches)` with a predicate of the typed words
 * (every word must be in one of the texts `textsOf(row)` gives, case-insensitive).
 */
export function searchBox(label, textsOf, onChange) {
  const input = h('input', {type: 'search', autocomplete: 'off', spellcheck: 'false'});
  const match = (row) => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const hay = textsOf(row).filter((x) => x !== null && x !== undefined).join(' ').toLowerCase();
    return words.every((w) => hay.includes(w));
  };
  input.addEventListener('input', () => onChange(match));
  const wrap = field(label, input, {name: 'q'});
  wrap.classList.add('search');
  wrap.match = match;
  return wrap;
}
