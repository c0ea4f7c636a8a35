// Texts in German and English. The language follows the browser (navigator.languages) until the
// user picks one (kept in localStorage). Dictionaries register themselves per language: the user
// pages in lang/*.js, the admin console in lang/admin-*.js.

const dictionaries = {en: {}, de: {}};
export const LANGUAGES = [['en', 'English'], ['de', 'Deutsch']];
const STORAGE_KEY = 'vfax.lang';
let current = 'en';

export function register(lang, entries) {
  Object.assign(dictionaries[lang], entries);
}

export function detectLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch (_) { /* private mode */ }
  if (stored && dictionaries[stored]) return stored;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (dictionaries[base]) return base;
  }
  return 'en';
}

export function setLanguage(lang, remember = false) {
  current = dictionaries[lang] ? lang : 'en';
  document.documentElement.lang = current;
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, current); } catch (_) { /* private mode */ }
  }
}

export const language = () => current;

/** Whether a text exists (optional texts such as field hints). */
export const has = (key) => key in dictionaries[current] || key in dictionaries.en;

/** t(KEY, {n: 3}): the text in the current language, {name} placeholders filled. */
export function t(key, params) {
  let text = dictionaries[current][key];
  if (text === undefined) text = dictionaries.en[key];
  if (text === undefined) {
    console.warn('vfax: no text for', key);
    return key;
  }
  if (typeof text === 'function') return text(params || {});
  if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return text;
}

/** A date/time as the user's language writes it. */
export function formatTime(value, {dateOnly = false} = {}) {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const locale = current === 'de' ? 'de-DE' : 'en-GB';
  return dateOnly
    ? d.toLocaleDateString(locale, {year: 'numeric', month: '2-digit', day: '2-digit'})
    : d.toLocaleString(locale, {year: 'numeric', month: '2-digit', day: '2-digit',
                                hour: '2-digit', minute: '2-digit'});
}

export function formatNumber(n) {
  return new Intl.NumberFormat(current === 'de' ? 'de-DE' : 'en-GB').format(n);
}
