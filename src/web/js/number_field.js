// The fax number field of the send form and of a held job's release form: while the user types,
// GET /numbers/parse shows the number as it will be dialled, or why it will not be.
import * as api from './api.js';
import {field, h} from './dom.js';
import {t} from './i18n.js';

/** Returns {wrap, input}: `wrap` is the labelled field (with setError), `input` the control. */
export function numberField() {
  let checkTimer = null;
  let checkAbort = null;
  const input = h('input', {type: 'tel', autocomplete: 'off', inputmode: 'tel', required: true,
    spellcheck: 'false'});
  const wrap = field(t('send.to'), input, {name: 'to', hint: t('send.toHint')});
  const dialled = h('p', {class: 'dialled', 'aria-live': 'polite'});
  wrap.insertBefore(dialled, wrap.querySelector('.field-error'));

  const show = (check) => {
    if (!check) {
      dialled.textContent = '';
      return;
    }
    dialled.dataset.ok = check.allowed ? 'yes' : 'no';
    if (check.valid || check.internal) {
      const parts = [];
      if (check.internal) parts.push(t('send.internal', {n: check.dial_string || check.input}));
      else parts.push(t('send.dialledAs', {dial: check.dial_string, intl: check.international}));
      if (!check.allowed && check.reason) parts.push(check.reason);
      dialled.textContent = parts.join(' – ');
    } else {
      dialled.textContent = check.as_you_type
        ? `${check.as_you_type}${check.reason ? ' – ' + check.reason : ''}` : (check.reason || '');
    }
  };
  input.addEventListener('input', () => {
    wrap.setError('');
    clearTimeout(checkTimer);
    const value = input.value.trim();
    if (!value) {
      show(null);
      return;
    }
    checkTimer = setTimeout(async () => {
      if (checkAbort) checkAbort.abort();
      checkAbort = new AbortController();
      try {
        show(await api.get('/numbers/parse', {to: value}, {signal: checkAbort.signal}));
      } catch (e) {
        if (e.name !== 'AbortError') dialled.textContent = e.message;
      }
    }, 200);
  });
  return {wrap, input};
}
