// Shared pieces of the fax pages: state badges, directions, numbers.
import {h} from './dom.js';
import {t} from './i18n.js';

export const FINAL_STATES = new Set(['done', 'failed', 'canceled', 'received']);
export const ACTIVE_STATES = new Set(['queued', 'converting', 'waiting', 'dialing', 'sending',
  'receiving', 'held']);
export const STATES = ['queued', 'converting', 'waiting', 'dialing', 'sending', 'done', 'failed',
  'canceled', 'receiving', 'received', 'held'];

export function stateBadge(state) {
  return h('span', {class: 'badge', dataset: {state}}, t('state.' + state));
}

export const directionLabel = (d) => t(d === 'in' ? 'dir.in' : 'dir.out');

/** "3 / 5" or "3" pages. */
const NOT_YET_SENT = new Set(['held', 'queued', 'converting']);

export function pagesText(fax) {
  // "1 of 3" while pages are being sent or when not all got through; before any call, the count.
  if (fax.pages_total && fax.pages_total !== fax.pages && !NOT_YET_SENT.has(fax.state) &&
      (fax.direction === 'out' || fax.state === 'receiving')) {
    return t('fax.pagesOf', {n: fax.pages, total: fax.pages_total});
  }
  return String(fax.pages_total && fax.direction === 'out' ? fax.pages_total : fax.pages || 0);
}

export const deviceName = (app, id) => {
  const d = app.devices.find((x) => x.id === id);
  return d ? d.name : (id ? '#' + id : '');
};
