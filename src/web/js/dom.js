// Building DOM nodes. Text is only ever set as text (text nodes, attribute values), never parsed
// as HTML: a fax's remote id or a file name cannot become markup. No file in src/web hands a string
// to the HTML parser (tests/integration/test_web.py checks the sources).

/**
 * h('button', {type: 'button', onclick: fn, 'aria-label': '…'}, 'text', childNode, [more])
 * Attributes: `class`, `for`, `hidden`, data-*, aria-*; keys starting with "on" are listeners;
 * `value`, `checked`, `disabled`, `selected` are set as properties.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) {
        // Listeners only as functions: an on* attribute would be script from a string.
        if (typeof value === 'function') el.addEventListener(key.slice(2), value);
      } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected' ||
                 key === 'indeterminate') {
        el[key] = value;
      } else if (key === 'dataset') {
        Object.assign(el.dataset, value);
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) {
      append(el, child);
    } else if (child instanceof Node) {
      el.appendChild(child);
    } else {
      el.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let nextId = 0;
/** A unique id for label/control pairs. */
export function uid(prefix = 'f') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * A labelled form field: <div class="field"><label for>…</label> control <p error></p></div>.
 * `control` is an element; it gets an id, aria-describedby for the hint and the error.
 */
export function field(labelText, control, {hint, name} = {}) {
  const id = control.id || uid(name || 'f');
  control.id = id;
  if (name) control.name = name;
  const errorEl = h('p', {class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true});
  const hintEl = hint ? h('p', {class: 'field-hint', id: `${id}-hint`}, hint) : null;
  control.setAttribute('aria-describedby', [hintEl ? hintEl.id : null, errorEl.id]
    .filter(Boolean).join(' '));
  const wrap = h('div', {class: 'field'}, h('label', {for: id}, labelText), control, hintEl,
    errorEl);
  wrap.setError = (message) => {
    if (message) {
      errorEl.textContent = message;
      errorEl.hidden = false;
      control.setAttribute('aria-invalid', 'true');
    } else {
      errorEl.textContent = '';
      errorEl.hidden = true;
      control.removeAttribute('aria-invalid');
    }
  };
  wrap.control = control;
  return wrap;
}

/** A <select> with [value, label] options. */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) =>
    h('option', {value: String(v), selected: String(v) === String(value)}, label)));
}

/** A status line for results of an action: polite for success, assertive for errors. */
export function statusLine() {
  const el = h('p', {class: 'status', role: 'status', 'aria-live': 'polite'});
  el.show = (message, kind = 'ok') => {
    el.textContent = message || '';
    el.dataset.kind = kind;
    if (kind === 'error') el.setAttribute('role', 'alert'); else el.setAttribute('role', 'status');
  };
  return el;
}
