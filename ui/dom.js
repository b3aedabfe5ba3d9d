// Small DOM helpers. Everything is built with createElement and textContent (never innerHTML), so
// text from the backend can never become markup; and nothing uses inline styles or handlers, which
// the content security policy forbids.

/** Builds an element: h('button', { id, testid, class, on: { click } }, 'Text', child, ...). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'testid') {
      el.dataset.testid = value;
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') {
      el[key] = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let fieldSeq = 0;

/** A labelled form field: the label is tied to the control with for/id. */
export function field(label, control, hint) {
  if (!control.id) control.id = `field-${++fieldSeq}`;
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A checkbox with its label after it. */
export function checkbox(label, props = {}) {
  const box = h('input', { type: 'checkbox', ...props });
  if (!box.id) box.id = `field-${++fieldSeq}`;
  return { box, el: h('div', { class: 'check' }, box, h('label', { for: box.id }, label)) };
}

/** Marks a button busy while `fn` runs, so a long call cannot be started twice. */
export async function busy(button, fn) {
  if (!button) return fn();
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('busy');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('busy');
    button.textContent = text;
  }
}

/**
 * A message sits in its own place above the screen and never covers it; when the screen is
 * scrolled past it, it is brought back into sight (and nothing moves when it is in sight).
 */
function inSight(el) {
  el.scrollIntoView({ block: 'nearest' });
}

/** Polite announcements (aria-live) of what just happened. */
export function announce(message) {
  const status = document.getElementById('status');
  status.textContent = '';
  // A fresh text node makes screen readers read the same sentence again.
  if (message) {
    status.append(document.createTextNode(message));
    inSight(status);
  }
}

/** Shows an error sentence in the alert region (and nowhere else, so it is read once). */
export function showError(error) {
  const alert = document.getElementById('alert');
  alert.textContent = error ? error.message || String(error) : '';
  if (error) {
    alert.dataset.code = error.code || 'error';
    inSight(alert);
  } else delete alert.dataset.code;
}

export function clearMessages() {
  announce('');
  showError(null);
}

/** Runs an action behind a button: busy state, errors as sentences, success announced. */
export async function act(button, fn, success) {
  showError(null);
  try {
    const result = await busy(button, fn);
    if (success) announce(typeof success === 'function' ? success(result) : success);
    return result;
  } catch (e) {
    showError(e);
    return undefined;
  }
}

// Dates and times in the person's language and region (the desktop's, which the shell hands the
// page as window.__partnerdeskLocale) and in this computer's time zone.
const locale = (() => {
  try {
    return Intl.getCanonicalLocales(window.__partnerdeskLocale || [])[0];
  } catch (e) {
    return undefined; // the WebView's own
  }
})();
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });

/** A moment, as a date and time: "3 Dec 2026, 14:05". */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/**
 * A moment in a list of things that happened: for the last week also how long ago, "2 hours ago
 * (3 Dec 2026, 12:05)"; earlier, only the date and time.
 */
export function whenAgo(iso) {
  const text = when(iso);
  const d = new Date(iso);
  const secs = (Date.now() - d.getTime()) / 1000;
  if (!iso || Number.isNaN(secs) || secs < -60 || secs >= 7 * 86400) return text;
  const [value, unit] = secs < 60 ? [0, 'second']
    : secs < 3600 ? [Math.floor(secs / 60), 'minute']
      : secs < 86400 ? [Math.floor(secs / 3600), 'hour']
        : [Math.floor(secs / 86400), 'day'];
  return `${relative.format(-value, unit)} (${text})`;
}

/** A table with a caption, header row and one row per item. */
export function table(caption, headers, rows, props = {}) {
  // Each data cell carries its column's name, shown beside it when a narrow window stacks the table.
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      if (cell.tagName === 'TD' && headers[i]) cell.dataset.label = headers[i];
    });
  }
  return h(
    'table',
    props,
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows),
  );
}
