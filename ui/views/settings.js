// Settings: how the window looks, which backend to use, the help contacts per region, and
// desktop notifications.
import * as api from '../api.js';
import * as appearance from '../appearance.js';
import { h, field, checkbox, act, announce, showError } from '../dom.js';

/** Light, dark or the desktop's choice, and the zoom level: each applies at once. */
function appearanceSection(current) {
  const choices = [
    ['system', 'System: follow the desktop\u2019s light or dark setting'],
    ['light', 'Light'],
    ['dark', 'Dark'],
  ];
  const radios = choices.map(([value, label]) => {
    const input = h('input', { type: 'radio', name: 'theme', id: `theme-${value}`, testid: `theme-${value}`, value, checked: current.theme === value });
    input.addEventListener('change', async () => {
      if (!input.checked) return;
      try {
        await appearance.chooseTheme(value);
        announce(`${label.split(':')[0]} theme.`);
      } catch (e) {
        showError(e);
        const before = document.documentElement.dataset.theme ?? 'system';
        radios.find((r) => r.value === before).checked = true;
      }
    });
    return input;
  });
  const level = h('p', { id: 'zoom-level', testid: 'zoom-level' });
  const showLevel = (a) => { level.textContent = `Zoom: ${a.zoom_percent} %. Ctrl + and Ctrl \u2212 change it anywhere in the window; Ctrl 0 goes back to 100 %.`; };
  showLevel(current);
  // Changes come after the screen is shown; once it has gone, the listener goes too.
  const stop = appearance.onChange((a) => (level.isConnected ? showLevel(a) : stop()));
  const step = (id, text, which) => {
    const b = h('button', { type: 'button', id, testid: id }, text);
    b.addEventListener('click', () => act(b, () => appearance.zoom(which)));
    return b;
  };
  const section = h('section', { testid: 'settings-appearance', 'aria-labelledby': 'appearance-heading' },
    h('h2', { id: 'appearance-heading' }, 'Appearance'),
    h('fieldset', {},
      h('legend', {}, 'Theme'),
      ...radios.map((r, i) => h('div', { class: 'check' }, r, h('label', { for: r.id }, choices[i][1])))),
    level,
    h('p', { class: 'button-row' }, step('zoom-out', 'Smaller', 'out'), step('zoom-reset', 'Actual size', 'reset'), step('zoom-in', 'Larger', 'in')),
    h('p', { class: 'hint' }, 'These apply at once and are kept for next time; Save settings is not needed.'));
  return section;
}

export async function render(params, app) {
  const view = await api.settings();
  const s = view.settings;

  const embedded = h('input', { type: 'radio', name: 'backend', id: 'backend-embedded', testid: 'backend-embedded', value: 'embedded', checked: s.backend === 'embedded' });
  const remote = h('input', { type: 'radio', name: 'backend', id: 'backend-remote', testid: 'backend-remote', value: 'remote', checked: s.backend === 'remote' });
  const url = h('input', { type: 'url', id: 'backend-url', testid: 'backend-url', value: s.remote_url ?? '', spellcheck: 'false' });
  const urlField = field('Server address', url, 'The address your programme gives you, starting with https (http only for a test server on this computer).');
  const dns = h('input', { type: 'text', id: 'dns-resolver', testid: 'dns-resolver', value: s.dns_resolver ?? '', placeholder: '192.0.2.53:53', spellcheck: 'false', autocomplete: 'off' });
  const dnsField = field('DNS server for domain checks', dns, 'Where the built-in backend looks up the records that prove your email domains, as address:port. Leave it empty to use this computer\'s DNS settings.');
  const syncUrl = () => { urlField.hidden = !remote.checked; dnsField.hidden = remote.checked; };
  embedded.addEventListener('change', syncUrl);
  remote.addEventListener('change', syncUrl);
  syncUrl();

  const contactRows = h('div', { id: 'help-contact-rows' });
  const addRow = (c = { region: '', name: 'Regional Service Centre', phone: '' }) => {
    const region = h('input', { type: 'text', testid: 'contact-region', value: c.region });
    const name = h('input', { type: 'text', testid: 'contact-name', value: c.name });
    const phone = h('input', { type: 'text', testid: 'contact-phone', value: c.phone });
    const row = h('fieldset', { class: 'contact-row', testid: 'contact-row' },
      h('legend', {}, c.region ? `Help contact: ${c.region}` : 'New help contact'),
      h('div', { class: 'grid' }, field('Region', region), field('Contact', name), field('Phone', phone)));
    const remove = h('button', { type: 'button', testid: 'contact-remove' }, 'Remove this contact');
    remove.addEventListener('click', () => row.remove());
    row.append(remove);
    row.read = () => ({ region: region.value, name: name.value, phone: phone.value });
    contactRows.append(row);
    return region;
  };
  s.help_contacts.forEach((c) => addRow(c));
  const add = h('button', { type: 'button', id: 'contact-add', testid: 'contact-add' }, 'Add a region');
  add.addEventListener('click', () => addRow().focus());

  // Desktop notifications of new requests and decisions; the Inbox fills either way.
  const alerts = s.alerts ?? { notifications: true, quiet_hours: null };
  const notify = checkbox('Show a desktop notification for each new request, and when your own request is decided', { id: 'alerts-on', testid: 'alerts-on', checked: alerts.notifications });
  const quietFrom = h('input', { type: 'time', id: 'quiet-from', testid: 'quiet-from', value: alerts.quiet_hours?.start ?? '' });
  const quietTo = h('input', { type: 'time', id: 'quiet-to', testid: 'quiet-to', value: alerts.quiet_hours?.end ?? '' });
  const notifications = h('fieldset', { testid: 'settings-notifications' },
    h('legend', {}, 'Notifications'),
    notify.el,
    h('fieldset', { class: 'quiet-hours' },
      h('legend', {}, 'Quiet hours'),
      h('p', { class: 'hint', id: 'quiet-hint' }, 'During quiet hours new requests go to the Inbox without a desktop notification. For example from 22:00 to 07:00; leave both empty for none.'),
      h('div', { class: 'grid' }, field('From', quietFrom), field('To', quietTo))),
    h('p', { class: 'note' }, 'While you are signed in, closing the window keeps Partner Desk following new requests from the tray; choose Quit Partner Desk there to stop.'));
  quietFrom.setAttribute('aria-describedby', 'quiet-hint');
  quietTo.setAttribute('aria-describedby', 'quiet-hint');

  const save = h('button', { type: 'submit', id: 'settings-save', testid: 'settings-save', class: 'primary' }, 'Save settings');
  const inUse = h('p', { class: 'lead', testid: 'settings-active' });
  const showInUse = (v) => {
    inUse.textContent = v.active_backend === 'remote'
      ? `In use now: your programme's server at ${v.location}.`
      : `In use now: the built-in (embedded) backend${v.location ? `, with its data in ${v.location}` : ''}.`;
  };
  showInUse(view);

  // Whether the backend in use answers: asked when the screen opens, after saving, and on demand.
  const reach = h('p', { id: 'backend-reachability', testid: 'backend-reachability', role: 'status', class: 'note' }, 'Checking the connection\u2026');
  const check = h('button', { type: 'button', id: 'backend-check', testid: 'backend-check' }, 'Check the connection');
  const checkNow = async () => {
    reach.textContent = 'Checking the connection\u2026';
    reach.dataset.reachable = '';
    try {
      const st = await api.backendStatus();
      reach.dataset.reachable = String(st.reachable);
      reach.textContent = st.reachable
        ? (st.kind === 'remote' ? `Connected: the server at ${st.location} answers.` : 'Ready: the built-in backend answers.')
        : `Not reachable. ${st.message ?? ''}`;
    } catch (e) {
      reach.dataset.reachable = 'false';
      reach.textContent = e.message ?? String(e);
    }
  };
  check.addEventListener('click', checkNow);
  checkNow();
  const form = h(
    'form',
    {},
    h('fieldset', {},
      h('legend', {}, 'Backend'),
      h('div', { class: 'check' }, embedded, h('label', { for: embedded.id }, 'Built in (embedded): everything stays on this computer, with demo organisations')),
      h('div', { class: 'check' }, remote, h('label', { for: remote.id }, 'Remote: your programme\'s membership server')),
      urlField,
      dnsField,
      h('p', { class: 'note' }, 'Choosing another backend signs you out here; your session stays kept, so switching back needs no password.')),
    notifications,
    h('h2', {}, 'Help contacts'),
    contactRows,
    h('p', { class: 'button-row' }, add),
    save,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!quietFrom.value !== !quietTo.value) {
      showError({ code: 'invalid_quiet_hours', message: 'Enter both the start and the end of your quiet hours, or clear both.' });
      (quietFrom.value ? quietTo : quietFrom).focus();
      return;
    }
    const next = {
      backend: remote.checked ? 'remote' : 'embedded',
      remote_url: url.value,
      dns_resolver: dns.value,
      help_contacts: [...contactRows.children].map((row) => row.read()),
      alerts: {
        notifications: notify.box.checked,
        quiet_hours: quietFrom.value ? { start: quietFrom.value.slice(0, 5), end: quietTo.value.slice(0, 5) } : null,
      },
    };
    const before = view.active_backend + (view.location ?? '');
    const saved = await act(save, () => api.saveSettings(next));
    if (!saved) return;
    showInUse(saved);
    announce('Settings saved.');
    await checkNow();
    // Another backend means another session: the app starts again at the sign-in screen.
    if (saved.active_backend + (saved.location ?? '') !== before) app.refreshSession();
  });

  return h(
    'div',
    {},
    h('h1', {}, 'Settings'),
    inUse,
    h('p', { class: 'button-row' }, check),
    reach,
    appearanceSection(s.appearance ?? { theme: 'system', zoom_percent: 100 }),
    form,
  );
}
