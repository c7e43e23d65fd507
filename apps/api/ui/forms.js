import { api, ApiError } from './api.js';
import { DATASETS_PATH, apiPaths } from './capabilities.js';
import { h } from './dom.js';

/**
 * A field: `path` is the request body's path ("attack.epsilon"), which is also how the API names
 * the field in a 400's messages, so each message lands next to the field it is about.
 */
const RUN_FIELDS = [
  { path: 'kind', label: 'Kind', options: ['train', 'adversarial-training', 'distillation'], value: 'train' },
  { path: 'dataset', label: 'Dataset (a name, or an uploaded dataset id)', list: ['mnist', 'fashion-mnist', 'cifar10'], value: 'mnist' },
  { path: 'model', label: 'Model', options: ['mlp', 'cnn-small', 'cnn-wong', 'cnn-madry', 'lenet5', 'resnet-small', 'imported'], value: 'mlp' },
  { path: 'epochs', label: 'Epochs', type: 'number', value: '2' },
  { path: 'batchSize', label: 'Batch size', type: 'number', value: '64' },
  { path: 'seed', label: 'Seed', type: 'number', value: '1' },
  { path: 'learningRate', label: 'Learning rate', type: 'number' },
  { path: 'attack.name', label: 'Attack (trained against / measured each epoch)', options: ['', 'fgsm'] },
  { path: 'attack.epsilon', label: 'Attack ε', type: 'number' },
  { path: 'method.name', label: 'Adversarial-training method', options: ['', 'fgsm', 'fgsm-rs', 'pgd', 'trades', 'free'] },
  { path: 'testFraction', label: 'Test fraction', type: 'number' },
  { path: 'fromCheckpoint', label: 'Fine-tune from checkpoint (id)' },
  { path: 'teacherCheckpoint', label: 'Distillation teacher checkpoint (id)' },
  { path: 'temperature', label: 'Temperature', type: 'number' },
];

const EVALUATION_FIELDS = [
  { path: 'runId', label: 'Run to evaluate (id)' },
  { path: 'checkpointEpoch', label: 'Checkpoint epoch (default: newest)', type: 'number' },
  { path: 'norm', label: 'Norm', options: ['', 'linf', 'l2'] },
  { path: 'epsilons', label: 'ε values (comma-separated)', type: 'numbers', value: '0, 0.05, 0.1, 0.2' },
  { path: 'suite', label: 'Suite', options: ['quick', 'standard', 'custom'], value: 'quick' },
  { path: 'attacks', label: 'Attacks (custom suite, comma-separated)', type: 'strings' },
  { path: 'examples', label: 'Test examples (seeded subset)', type: 'number', value: '100' },
  { path: 'seed', label: 'Seed', type: 'number' },
  { path: 'galleryPerEpsilon', label: 'Gallery examples per ε', type: 'number', value: '2' },
  { path: 'shardSize', label: 'Shard size', type: 'number' },
];

function setPath(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys[keys.length - 1]] = value;
}

/** A field's value as the API expects its type; text the browser cannot read as a number goes as is, for the API to name. */
function readField(field, input) {
  const raw = input.value.trim();
  if (raw === '') return undefined;
  if (field.type === 'number') return Number.isNaN(Number(raw)) ? raw : Number(raw);
  if (field.type === 'numbers') return raw.split(',').map((s) => (Number.isNaN(Number(s.trim())) ? s.trim() : Number(s.trim())));
  if (field.type === 'strings') return raw.split(',').map((s) => s.trim());
  return raw;
}

function deepMerge(into, from) {
  for (const [key, value] of Object.entries(from)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && into[key] && typeof into[key] === 'object') deepMerge(into[key], value);
    else into[key] = value;
  }
  return into;
}

/** The field a message is about: the longest path it starts with ("each value in epsilons …" too). */
export function fieldOf(message, paths) {
  const subject = message.replace(/^each value in /, '').replace(/^nested property /, '');
  return paths.filter((p) => subject === p || [' ', '.', ':'].some((next) => subject.startsWith(`${p}${next}`))).sort((a, b) => b.length - a.length)[0];
}

function form(root, { title, id, fields, endpoint, params, after, intro }) {
  const inputs = new Map();
  const errors = new Map();
  const extra = h('textarea', { name: 'extra', id: `${id}-extra`, placeholder: '{ "optimizer": { "name": "sgd", "momentum": 0.9 } }' });
  const formErrors = h('div', { class: 'error', id: `${id}-errors` });
  const grid = h(
    'div',
    { class: 'form-grid' },
    ...fields.map((f) => {
      const input = f.options
        ? h('select', { name: f.path }, ...f.options.map((o) => h('option', { value: o }, o || '(default)')))
        : h('input', { name: f.path, type: 'text', inputMode: f.type === 'number' ? 'decimal' : undefined, list: f.list ? `${id}-${f.path}-list` : undefined });
      input.value = params.get(f.path) ?? f.value ?? '';
      input.id = `${id}-${f.path}`;
      inputs.set(f.path, input);
      const error = h('div', { class: 'field-error', dataset: { errorFor: f.path } });
      errors.set(f.path, error);
      return h(
        'div',
        { dataset: { field: f.path } },
        h('label', { for: input.id }, f.label),
        input,
        f.list ? h('datalist', { id: `${id}-${f.path}-list` }, ...f.list.map((o) => h('option', { value: o }))) : null,
        error,
      );
    }),
  );
  // Uploaded datasets join the built-in names where the API takes uploads (their ref goes in "dataset").
  const datasets = grid.querySelector(`datalist[id="${id}-dataset-list"]`);
  if (datasets) {
    void apiPaths().then(async (paths) => {
      if (!paths.has(DATASETS_PATH)) return;
      const { items } = await api('GET', DATASETS_PATH).catch(() => ({ items: [] }));
      datasets.append(...items.map((d) => h('option', { value: d.ref, label: `${d.name} (${d.shape.join('×')}, ${d.classNames.length} classes)` })));
    });
  }
  const submit = h('button', { type: 'submit', id: `${id}-submit` }, 'Submit');
  root.append(
    h(
      'form',
      {
        class: 'card',
        id,
        noValidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          for (const e of errors.values()) e.textContent = '';
          formErrors.replaceChildren();
          const body = {};
          for (const f of fields) {
            const value = readField(f, inputs.get(f.path));
            if (value !== undefined) setPath(body, f.path, value);
          }
          if (extra.value.trim()) {
            try {
              deepMerge(body, JSON.parse(extra.value));
            } catch (err) {
              formErrors.textContent = `More fields: not JSON (${err.message})`;
              return;
            }
          }
          submit.disabled = true;
          try {
            const run = await api('POST', endpoint, body);
            after(run);
          } catch (err) {
            const messages = err instanceof ApiError ? err.messages : [err.message];
            const paths = fields.map((f) => f.path);
            for (const message of messages) {
              const path = fieldOf(message, paths);
              if (path) errors.get(path).append(h('div', {}, message));
              else formErrors.append(h('div', {}, message));
            }
          } finally {
            submit.disabled = false;
          }
        },
      },
      h('h1', {}, title),
      intro ? h('p', { class: 'muted' }, intro) : null,
      grid,
      h('h2', {}, 'More fields (JSON, merged into the request)'),
      extra,
      formErrors,
      h('p', {}, submit),
    ),
  );
}

export function runFormView(root, params, { navigate }) {
  form(root, {
    title: 'Submit a run',
    id: 'run-form',
    fields: RUN_FIELDS,
    endpoint: '/runs',
    params,
    intro: 'Empty fields take the API’s defaults. The API checks everything; its messages appear next to the fields they name.',
    after: (run) => navigate(`#/runs/${run.id}`),
  });
}

export function evaluationFormView(root, params, { navigate }) {
  form(root, {
    title: 'Evaluate a model',
    id: 'evaluation-form',
    fields: EVALUATION_FIELDS,
    endpoint: '/evaluations',
    params,
    intro: 'Clean and robust accuracy per attack at every ε, and the per-example worst case, on a seeded subset of the test split.',
    after: (run) => navigate(`#/evaluations/${run.id}`),
  });
}
