import { api, ApiError, session } from './api.js';
import { errorBox, h, progressBar, runHref, short, statusBadge, when } from './dom.js';
import { Live } from './live.js';
import { runView } from './run-view.js';
import { evaluationView } from './evaluation-view.js';
import { compareView } from './compare-view.js';
import { runFormView, evaluationFormView } from './forms.js';
import { DATASETS_PATH, apiPaths } from './capabilities.js';
import { datasetsView } from './datasets-view.js';

const view = document.getElementById('view');
/** Runs per request of the runs table: the API's largest page. */
const PAGE_SIZE = 200;
const live = new Live(document.getElementById('live-state'));
const signOut = document.getElementById('sign-out');
let cleanup = () => undefined;

signOut.addEventListener('click', () => {
  session.signOut();
  location.hash = '#/signin';
});

/** Runs a view: `render(root, params, ctx)` fills root and returns its cleanup. */
async function route() {
  cleanup();
  cleanup = () => undefined;
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  const signedIn = Boolean(session.key());
  signOut.hidden = !signedIn;
  document.getElementById('nav').hidden = !signedIn;
  const root = h('div');
  view.replaceChildren(root);
  if (!signedIn || parts[0] === 'signin') {
    live.stop();
    signInView(root);
    return;
  }
  live.start();
  const ctx = { live, navigate: (hash) => (location.hash = hash) };
  const views = {
    runs: () => (parts[1] ? runView(root, parts[1], ctx) : runsView(root, ctx)),
    evaluations: () => evaluationView(root, parts[1], ctx),
    compare: () => compareView(root, (params.get('ids') ?? '').split(',').filter(Boolean), ctx),
    queues: () => queuesView(root, ctx),
    datasets: () => datasetsView(root),
    submit: () => (parts[1] === 'evaluation' ? evaluationFormView(root, params, ctx) : runFormView(root, params, ctx)),
  };
  const render = views[parts[0]] ?? views.runs;
  try {
    cleanup = (await render()) ?? (() => undefined);
  } catch (err) {
    root.replaceChildren(errorBox(err));
  }
}

function signInView(root) {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', placeholder: 'bwk_…', size: 60 });
  const message = h('p', { class: 'error', id: 'sign-in-error' });
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        message.textContent = '';
        const key = input.value.trim();
        session.signIn(key);
        try {
          // Any call that needs a key tells whether this one is good.
          await api('GET', '/runs?limit=1');
          location.hash = '#/runs';
        } catch (err) {
          session.signOut();
          message.textContent = err.message;
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API key. It stays in this tab only (sessionStorage) and goes to the API in the Authorization header of each request.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', {}, h('button', { type: 'submit', id: 'sign-in' }, 'Sign in')),
    message,
  );
  root.append(form);
  input.focus();
}

const COLUMNS = [
  { key: 'id', label: 'Run', value: (r) => r.id },
  { key: 'kind', label: 'Kind', value: (r) => r.kind },
  { key: 'status', label: 'Status', value: (r) => r.status },
  { key: 'progress', label: 'Progress', value: (r) => r.progress },
  { key: 'dataset', label: 'Dataset', value: (r) => r.spec.dataset ?? '' },
  { key: 'model', label: 'Model', value: (r) => r.spec.model ?? '' },
  { key: 'createdAt', label: 'Created', value: (r) => r.createdAt },
];

function runsView(root, { live, navigate }) {
  // `pages`: how many pages of PAGE_SIZE the table holds; "Show more" adds one, and live refreshes reload them all.
  const state = { sort: 'createdAt', dir: -1, selected: new Set(), runs: [], pages: 1 };
  const status = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: '' }, 'any status'),
    ...['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s)),
  );
  const kind = h(
    'select',
    { id: 'filter-kind' },
    h('option', { value: '' }, 'any kind'),
    ...['train', 'adversarial-training', 'distillation', 'evaluation', 'import'].map((k) => h('option', { value: k }, k)),
  );
  const text = h('input', { id: 'filter-text', type: 'search', placeholder: 'id, dataset or model' });
  const compare = h(
    'button',
    { type: 'button', id: 'compare', disabled: true, onclick: () => navigate(`#/compare?ids=${[...state.selected].join(',')}`) },
    'Compare selected',
  );
  const tbody = h('tbody');
  const header = h(
    'tr',
    {},
    h('th', {}, ''),
    ...COLUMNS.map((c) =>
      h(
        'th',
        {
          class: 'sortable',
          dataset: { sort: c.key },
          onclick: () => {
            state.dir = state.sort === c.key ? -state.dir : 1;
            state.sort = c.key;
            draw();
          },
        },
        c.label,
      ),
    ),
  );
  const total = h('span');
  const more = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      id: 'runs-more',
      hidden: true,
      onclick: () => {
        state.pages += 1;
        void load();
      },
    },
    `Show ${PAGE_SIZE} more`,
  );
  root.append(
    h('h1', {}, 'Runs'),
    h(
      'div',
      { class: 'filters' },
      h('div', {}, h('label', {}, 'Status'), status),
      h('div', {}, h('label', {}, 'Kind'), kind),
      h('div', {}, h('label', {}, 'Search'), text),
      compare,
    ),
    h('table', { id: 'runs-table' }, h('thead', {}, header), tbody),
    h('p', { class: 'muted' }, total, ' ', more),
  );

  function draw() {
    const needle = text.value.trim().toLowerCase();
    const column = COLUMNS.find((c) => c.key === state.sort);
    const rows = state.runs
      .filter(
        (r) =>
          !needle ||
          [r.id, r.spec.dataset, r.spec.model].some((v) =>
            String(v ?? '')
              .toLowerCase()
              .includes(needle),
          ),
      )
      .sort((a, b) => (column.value(a) < column.value(b) ? -1 : column.value(a) > column.value(b) ? 1 : 0) * state.dir);
    for (const th of header.querySelectorAll('th[data-sort]'))
      th.setAttribute('aria-sort', th.dataset.sort === state.sort ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    tbody.replaceChildren(
      ...rows.map((r) =>
        h(
          'tr',
          { dataset: { runId: r.id } },
          h(
            'td',
            {},
            h('input', {
              type: 'checkbox',
              checked: state.selected.has(r.id),
              onchange: (e) => {
                if (e.target.checked) state.selected.add(r.id);
                else state.selected.delete(r.id);
                compare.disabled = state.selected.size < 2;
              },
            }),
          ),
          h('td', {}, h('a', { href: runHref(r), class: 'mono' }, short(r.id))),
          h('td', {}, r.kind),
          h(
            'td',
            {},
            statusBadge(r.status),
            r.waitingFor ? h('div', { class: 'muted' }, r.waitingFor) : null,
            r.error ? h('div', { class: 'error' }, r.error) : null,
          ),
          h('td', {}, progressBar(r.progress, r.id)),
          h('td', {}, r.spec.dataset ?? '—'),
          h('td', {}, r.spec.model ?? '—'),
          h('td', {}, when(r.createdAt)),
        ),
      ),
    );
    if (rows.length === 0) tbody.append(h('tr', {}, h('td', { colSpan: COLUMNS.length + 1, class: 'muted' }, 'No runs match.')));
  }

  // One request at a time; a load asked for meanwhile (a filter changed while a live refresh was
  // in flight) runs once the current one ends, so the table never keeps an answer to old filters.
  let loading = false;
  let again = false;
  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    again = false;
    try {
      const runs = [];
      let count = 0;
      for (let page = 0; page < state.pages; page++) {
        const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(page * PAGE_SIZE) });
        if (status.value) query.set('status', status.value);
        if (kind.value) query.set('kind', kind.value);
        const answer = await api('GET', `/runs?${query}`);
        runs.push(...answer.items);
        count = answer.total;
        if (runs.length >= count) break;
      }
      // A run created between two pages shifts the next page by one: keep the first copy.
      state.runs = [...new Map(runs.map((r) => [r.id, r])).values()];
      total.textContent = `${count} run(s)${count > state.runs.length ? `, the newest ${state.runs.length} shown` : ''}`;
      more.hidden = count <= state.runs.length;
      draw();
    } catch (err) {
      total.replaceChildren(errorBox(err));
    } finally {
      loading = false;
      if (again) void load();
    }
  }
  const reload = () => {
    state.pages = 1;
    void load();
  };
  status.addEventListener('change', reload);
  kind.addEventListener('change', reload);
  text.addEventListener('input', draw);
  void load();
  return live.subscribe(() => void load());
}

function queuesView(root, { live }) {
  const mine = h('div');
  const cluster = h('div');
  root.append(h('h1', {}, 'Queues'), h('h2', {}, 'Your queued and running runs'), mine, h('h2', {}, 'Queues and workers (whole cluster)'), cluster);
  async function load() {
    try {
      const [queued, running] = await Promise.all([api('GET', '/runs?status=queued&limit=200'), api('GET', '/runs?status=running&limit=200')]);
      const runs = [...running.items, ...queued.items];
      mine.replaceChildren(
        runs.length === 0
          ? h('p', { class: 'muted' }, 'None: every run of yours has ended.')
          : h(
              'table',
              { id: 'my-active-runs' },
              h('thead', {}, h('tr', {}, ...['Run', 'Kind', 'Status', 'Progress', 'Attempts', 'Waiting for'].map((t) => h('th', {}, t)))),
              h(
                'tbody',
                {},
                ...runs.map((r) =>
                  h(
                    'tr',
                    { dataset: { runId: r.id } },
                    h('td', {}, h('a', { href: runHref(r), class: 'mono' }, short(r.id))),
                    h('td', {}, r.kind),
                    h('td', {}, statusBadge(r.status)),
                    h('td', {}, progressBar(r.progress, r.id)),
                    h('td', {}, String(r.attempts)),
                    h('td', {}, r.waitingFor ?? (r.retry ? `retry ${r.retry.attempt} at ${when(r.retry.nextAttemptAt)}: ${r.retry.reason}` : '—')),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      mine.replaceChildren(errorBox(err));
    }
    try {
      const overview = await api('GET', '/queues');
      cluster.replaceChildren(
        h(
          'table',
          { id: 'queue-counts' },
          h('thead', {}, h('tr', {}, ...['Queue', 'Waiting', 'Active', 'Delayed', 'Failed', 'Workers consuming'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...overview.queues.map((q) =>
              h('tr', { dataset: { queue: q.name } }, ...[q.name, q.waiting, q.active, q.delayed, q.failed, q.workers].map((v) => h('td', {}, String(v)))),
            ),
          ),
        ),
        h('h2', {}, `Connected workers (${overview.workers.length})`),
        h(
          'table',
          { id: 'workers' },
          h('thead', {}, h('tr', {}, ...['Worker', 'Backend', 'GPU', 'Queues', 'Since'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...overview.workers.map((w) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, w.id),
                h('td', {}, w.backend),
                h('td', {}, w.gpu ? 'yes' : 'no'),
                h('td', {}, w.queues.join(', ')),
                h('td', {}, when(w.startedAt)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      cluster.replaceChildren(
        err instanceof ApiError && err.status === 403
          ? h('p', { class: 'muted', id: 'queues-admin-only' }, 'The counts cover every tenant, so only an admin key may read them (GET /queues).')
          : errorBox(err),
      );
    }
  }
  void load();
  return live.subscribe(() => void load());
}

// Datasets appear in the menu only where the API takes uploads.
void apiPaths().then((paths) => {
  document.getElementById('datasets-link').hidden = !paths.has(DATASETS_PATH);
});
window.addEventListener('hashchange', route);
route();
