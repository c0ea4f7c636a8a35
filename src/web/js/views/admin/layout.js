// The admin console's frame: a second navigation over its pages, and form helpers that put the
// API's validation errors next to the field they name.
import * as api from '../../api.js';
import {field, h} from '../../dom.js';
import {t} from '../../i18n.js';

export const ADMIN_PAGES = ['settings', 'users', 'devices', 'trunks', 'mail', 'lines', 'cleanup',
  'outbox', 'audit'];

export function adminPage(sub, ...content) {
  return h('section', {class: `page page-admin page-admin-${sub}`},
    h('nav', {class: 'subnav', 'aria-label': t('admin.nav')}, h('ul', null,
      ADMIN_PAGES.map((p) => h('li', null, h('a', {href: `#/admin/${p}`,
        'aria-current': p === sub ? 'page' : false}, t(`admin.${p}`)))))),
    ...content);
}

/**
 * The field an API error is about: the longest of `names` that the message starts with (the
 * server writes "total_lines must be ...", "blocked_prefixes: ..."), else null.
 */
export function fieldOfError(message, names) {
  let best = null;
  for (const n of names) {
    if (message.startsWith(n) && !/[a-z0-9_]/.test(message.charAt(n.length)) &&
        (!best || n.length > best.length)) best = n;
  }
  return best;
}

/**
 * A form over a JSON object: `specs` is a list of {key, label, type: 'text'|'number'|'bool'|
 * 'select'|'list'|'lines'|'checks', options, hint}. Returns {el, fields, read(), write(obj),
 * setError(key, msg), clearErrors()}. `list` edits an array as comma-separated text, `lines` as
 * one item per line (items that may hold commas, such as regexes); `checks` as checkboxes.
 */
export function jsonForm(specs) {
  const fields = new Map();
  const parts = specs.map((s) => {
    let control;
    if (s.type === 'bool') {
      control = h('input', {type: 'checkbox'});
      const wrap = h('div', {class: 'field check'},
        h('label', null, control, ' ', s.label), s.hint ? h('p', {class: 'field-hint'}, s.hint) : null,
        h('p', {class: 'field-error', role: 'alert', hidden: true}));
      const err = wrap.querySelector('.field-error');
      wrap.setError = (m) => { err.textContent = m || ''; err.hidden = !m; };
      wrap.control = control;
      fields.set(s.key, {spec: s, wrap, control});
      return wrap;
    }
    if (s.type === 'checks') {
      const boxes = s.options.map(([v, label]) => {
        const box = h('input', {type: 'checkbox', value: v});
        return [v, box, h('label', {class: 'check'}, box, ' ', label)];
      });
      const err = h('p', {class: 'field-error', role: 'alert', hidden: true});
      const wrap = h('fieldset', {class: 'field checks'}, h('legend', null, s.label),
        boxes.map((b) => b[2]), s.hint ? h('p', {class: 'field-hint'}, s.hint) : null, err);
      wrap.setError = (m) => { err.textContent = m || ''; err.hidden = !m; };
      fields.set(s.key, {spec: s, wrap, boxes});
      return wrap;
    }
    if (s.type === 'select') {
      control = h('select', null, s.options.map(([v, label]) => h('option', {value: v}, label)));
    } else if (s.type === 'number') {
      control = h('input', {type: 'number', min: s.min, max: s.max, step: 1});
    } else if (s.type === 'lines') {
      control = h('textarea', {rows: 3, spellcheck: 'false', autocomplete: 'off', class: 'mono'});
    } else if (s.type === 'password') {
      control = h('input', {type: 'password', autocomplete: 'new-password'});
    } else {
      control = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false'});
    }
    const wrap = field(s.label, control, {name: s.key, hint: s.hint});
    fields.set(s.key, {spec: s, wrap, control});
    return wrap;
  });
  const read = () => {
    const out = {};
    for (const [key, f] of fields) {
      const s = f.spec;
      if (s.type === 'bool') out[key] = f.control.checked;
      else if (s.type === 'checks') out[key] = f.boxes.filter((b) => b[1].checked).map((b) => b[0]);
      else if (s.type === 'number') out[key] = f.control.value === '' ? null : Number(f.control.value);
      else if (s.type === 'list') {
        out[key] = f.control.value.split(',').map((x) => x.trim()).filter(Boolean);
      } else if (s.type === 'lines') {
        out[key] = f.control.value.split('\n').map((x) => x.trim()).filter(Boolean);
      } else out[key] = f.control.value;
    }
    return out;
  };
  const write = (obj) => {
    for (const [key, f] of fields) {
      const v = obj[key];
      const s = f.spec;
      if (s.type === 'bool') f.control.checked = !!v;
      else if (s.type === 'checks') for (const b of f.boxes) b[1].checked = (v || []).includes(b[0]);
      else if (s.type === 'list') f.control.value = (v || []).join(', ');
      else if (s.type === 'lines') f.control.value = (v || []).join('\n');
      else f.control.value = v === null || v === undefined ? '' : String(v);
    }
  };
  const setError = (key, msg) => {
    const f = fields.get(key);
    if (f) f.wrap.setError(msg);
    return !!f;
  };
  const clearErrors = () => { for (const f of fields.values()) f.wrap.setError(''); };
  const focus = (key) => {
    const f = fields.get(key);
    if (f && f.control) f.control.focus();
    else if (f && f.boxes) f.boxes[0][1].focus();
  };
  return {el: parts, fields, read, write, setError, clearErrors, focus};
}

/** Only what changed between two read() results (arrays compared by value). */
export function changes(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    if (JSON.stringify(v) !== JSON.stringify(before[k])) out[k] = v;
  }
  return out;
}

/**
 * Shows an API error of a form submit: next to its field when the message names one, and in
 * `status` always. Returns the field's key or null.
 */
export function showFormError(form, status, err) {
  const key = fieldOfError(err.message || '', [...form.fields.keys()]);
  if (key) {
    form.setError(key, err.message);
    form.focus(key);
  }
  status.show(err.message, 'error');
  return key;
}

/**
 * Wires a form of server settings: `form` (a jsonForm) is filled from `settings` (a promise of GET
 * /settings); a submit of `el` sends only what changed (PUT /settings) and shows the API's errors
 * next to their field.
 */
export function settingsForm(el, form, save, status, settings = api.get('/settings')) {
  let loaded = null;
  settings.then((s) => {
    form.write(s);
    loaded = form.read();
  }).catch((err) => status.show(err.message, 'error'));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    form.clearErrors();
    const diff = changes(loaded || {}, form.read());
    if (Object.keys(diff).length === 0) return status.show(t('common.nothingChanged'));
    save.disabled = true;
    try {
      const s = await api.put('/settings', diff);
      form.write(s);
      loaded = form.read();
      status.show(t('common.saved'), 'ok');
    } catch (err) {
      showFormError(form, status, err);
    } finally {
      save.disabled = false;
    }
  });
}
