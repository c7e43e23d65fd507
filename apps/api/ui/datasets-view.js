import { api, apiForm, ApiError } from './api.js';
import { bytes, errorBox, h, short, when } from './dom.js';
import { fieldOf } from './forms.js';

const FIELDS = [
  { name: 'name', label: 'Name' },
  { name: 'classNames', label: 'Class names (comma-separated, index = label; optional)' },
  { name: 'testFraction', label: 'Test fraction held out, seeded (without test files)' },
  { name: 'seed', label: 'Seed of that split' },
];
const PARTS = [
  { name: 'train-images', label: 'Training images (IDX, IDX.gz or .npy uint8/float)' },
  { name: 'train-labels', label: 'Training labels (IDX, IDX.gz or .npy)' },
  { name: 'test-images', label: 'Test images (optional: the official split)' },
  { name: 'test-labels', label: 'Test labels (optional)' },
];

/** The tenant's uploaded datasets: listed, deleted (the API refuses while a run uses one), and uploaded as files, never base64 in JSON. */
export async function datasetsView(root) {
  const list = h('div', { id: 'datasets' });
  const errors = new Map();
  const formErrors = h('div', { class: 'error', id: 'dataset-form-errors' });
  const inputs = [
    ...FIELDS.map((f) => ({ ...f, input: h('input', { type: 'text', name: f.name, id: `dataset-form-${f.name}` }) })),
    ...PARTS.map((p) => ({ ...p, input: h('input', { type: 'file', name: p.name, id: `dataset-form-${p.name}` }) })),
  ];
  const submit = h('button', { type: 'submit', id: 'dataset-form-submit' }, 'Upload');

  async function load() {
    try {
      const { items, total } = await api('GET', '/datasets');
      list.replaceChildren(
        items.length === 0
          ? h('p', { class: 'muted' }, 'None uploaded yet.')
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['Name', 'Use as "dataset"', 'Image', 'Classes', 'Train / test', 'Test split', 'Stored', 'Uploaded', ''].map((t) => h('th', {}, t)),
                ),
              ),
              h(
                'tbody',
                {},
                ...items.map((d) => {
                  const remove = h('button', { type: 'button', class: 'secondary' }, 'Delete');
                  const row = h(
                    'tr',
                    { dataset: { datasetId: d.id } },
                    h('td', {}, d.name),
                    h('td', { class: 'mono' }, d.ref),
                    h('td', {}, d.shape.join('×')),
                    h('td', { title: d.classNames.join(', ') }, String(d.classNames.length)),
                    h('td', {}, `${d.trainCount} / ${d.testCount}`),
                    h('td', {}, d.testSplit.kind === 'seeded' ? `seeded (${d.testSplit.testFraction}, seed ${d.testSplit.seed})` : String(d.testSplit.kind)),
                    h('td', {}, bytes(d.sizeBytes)),
                    h('td', {}, when(d.createdAt)),
                    h('td', {}, remove),
                  );
                  remove.addEventListener('click', async () => {
                    if (!confirm(`Delete dataset ${d.name} (${short(d.id)})?`)) return;
                    try {
                      await api('DELETE', `/datasets/${d.id}`);
                      await load();
                    } catch (err) {
                      row.after(h('tr', {}, h('td', { colSpan: 9 }, errorBox(err))));
                    }
                  });
                  return row;
                }),
              ),
            ),
        total > items.length ? h('p', { class: 'muted' }, `${total} in all, the newest ${items.length} shown`) : null,
      );
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }

  root.append(
    h('h1', {}, 'Datasets'),
    list,
    h(
      'form',
      {
        class: 'card',
        id: 'dataset-form',
        noValidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          for (const e of errors.values()) e.textContent = '';
          formErrors.replaceChildren();
          const form = new FormData();
          // Text fields first: the API reads the upload as it streams.
          for (const f of inputs) if (f.input.type !== 'file' && f.input.value.trim()) form.append(f.name, f.input.value.trim());
          for (const f of inputs) if (f.input.type === 'file' && f.input.files.length) form.append(f.name, f.input.files[0], f.input.files[0].name);
          submit.disabled = true;
          try {
            await apiForm('/datasets', form);
            for (const f of inputs) f.input.value = '';
            await load();
          } catch (err) {
            const messages = err instanceof ApiError ? err.messages : [err.message];
            const names = inputs.map((f) => f.name);
            for (const message of messages) {
              const name = fieldOf(message, names);
              (name ? errors.get(name) : formErrors).append(h('div', {}, message));
            }
          } finally {
            submit.disabled = false;
          }
        },
      },
      h('h2', {}, 'Upload a labelled image dataset'),
      h('p', { class: 'muted' }, 'Checked on arrival (shapes, dtype, value range, labels); nothing is stored unless all of it is valid.'),
      h(
        'div',
        { class: 'form-grid' },
        ...inputs.map((f) => {
          const error = h('div', { class: 'field-error', dataset: { errorFor: f.name } });
          errors.set(f.name, error);
          return h('div', {}, h('label', { for: f.input.id }, f.label), f.input, error);
        }),
      ),
      formErrors,
      h('p', {}, submit),
    ),
  );
  await load();
  return undefined;
}
