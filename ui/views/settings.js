// Settings: which backend to use, and the help contacts per region.
import * as api from '../api.js';
import { h, field, act, announce } from '../dom.js';

export async function render() {
  const view = await api.settings();
  const s = view.settings;

  const embedded = h('input', { type: 'radio', name: 'backend', id: 'backend-embedded', testid: 'backend-embedded', value: 'embedded', checked: s.backend === 'embedded' });
  const remote = h('input', { type: 'radio', name: 'backend', id: 'backend-remote', testid: 'backend-remote', value: 'remote', checked: s.backend === 'remote' });
  const url = h('input', { type: 'url', id: 'backend-url', testid: 'backend-url', value: s.remote_url ?? '', spellcheck: 'false' });
  const urlField = field('Remote backend address', url, 'The address your programme gives you, starting with https. The remote backend is coming soon; its address is kept for then.');
  const syncUrl = () => { urlField.hidden = !remote.checked; };
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

  const save = h('button', { type: 'submit', id: 'settings-save', testid: 'settings-save', class: 'primary' }, 'Save settings');
  const notice = h('p', { id: 'settings-notice', testid: 'settings-notice', class: 'note' }, view.notice ?? '');
  notice.hidden = !view.notice;
  const form = h(
    'form',
    {},
    h('fieldset', {},
      h('legend', {}, 'Backend'),
      h('div', { class: 'check' }, embedded, h('label', { for: embedded.id }, 'Built in (embedded): everything stays on this computer, with demo organisations')),
      h('div', { class: 'check' }, remote, h('label', { for: remote.id }, 'Remote: your programme\'s membership server')),
      urlField),
    notice,
    h('h2', {}, 'Help contacts'),
    contactRows,
    h('p', { class: 'button-row' }, add),
    save,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const next = {
      backend: remote.checked ? 'remote' : 'embedded',
      remote_url: url.value,
      help_contacts: [...contactRows.children].map((row) => row.read()),
    };
    const saved = await act(save, () => api.saveSettings(next));
    if (!saved) return;
    notice.textContent = saved.notice ?? '';
    notice.hidden = !saved.notice;
    announce(saved.notice ? `Settings saved. ${saved.notice}` : 'Settings saved.');
  });

  return h(
    'div',
    {},
    h('h1', {}, 'Settings'),
    h('p', { class: 'lead', testid: 'settings-active' },
      `In use now: the ${view.active_backend === 'embedded' ? 'built-in (embedded)' : view.active_backend} backend`,
      view.location ? `, with its data in ${view.location}.` : '.'),
    form,
  );
}
