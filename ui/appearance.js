// Light, dark or the desktop's choice, and the zoom keys. The shell puts the remembered theme on
// <html> before the first paint (src-tauri/src/appearance.rs); a change applies here at once and
// the shell keeps it.
import * as api from './api.js';
import { announce, showError } from './dom.js';

const listeners = new Set();

/** Puts `theme` ('system', 'light' or 'dark') on the page. */
export function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
}

/** Applies `theme` and keeps it; an error is shown, and the theme stays as it was. */
export async function chooseTheme(theme) {
  const before = document.documentElement.dataset.theme ?? 'system';
  applyTheme(theme);
  try {
    const appearance = await api.setTheme(theme);
    listeners.forEach((fn) => fn(appearance));
    return appearance;
  } catch (e) {
    applyTheme(before);
    throw e;
  }
}

// Steps run one after another, so a key held down ends at the level it says.
let steps = Promise.resolve();

/** One zoom step ('in', 'out' or 'reset'), said aloud with the new level. */
export function zoom(step) {
  const done = steps.then(async () => {
    const appearance = await api.zoom(step);
    announce(`Zoom ${appearance.zoom_percent} %.`);
    listeners.forEach((fn) => fn(appearance));
    return appearance;
  });
  steps = done.catch(() => {});
  return done;
}

/** Calls `fn` with the appearance after each change (the Settings screen shows the level). */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Ctrl + (or Ctrl =), Ctrl − and Ctrl 0, on the main keys and the keypad, anywhere in the window.
const zoomKeys = { '+': 'in', '=': 'in', '-': 'out', _: 'out', 0: 'reset' };
document.addEventListener('keydown', (event) => {
  if (!event.ctrlKey || event.altKey || event.metaKey) return;
  const step = zoomKeys[event.key];
  if (!step) return;
  event.preventDefault();
  zoom(step).catch(showError);
});
