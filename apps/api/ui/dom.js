import { ApiError } from './api.js';

// Elements are built with textContent and properties, never innerHTML: whatever a run's spec or
// an error holds is shown as text and can never become markup.

/** Set as properties (their live state); everything else is an attribute (some properties, like `list`, are read-only). */
const PROPERTIES = new Set([
  'value',
  'checked',
  'disabled',
  'hidden',
  'type',
  'colSpan',
  'noValidate',
  'inputMode',
  'autocomplete',
  'placeholder',
  'size',
  'title',
  'href',
  'id',
  'name',
  'width',
  'height',
]);

/** h('a', { href: '#/runs', class: 'x', onclick: fn, dataset: { runId } }, 'text', child) */
export function h(tag, props = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'text', 'line', 'polygon', 'a', 'title'].includes(tag) && props.svg;
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false || name === 'svg') continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'class') el.setAttribute('class', value);
    else if (PROPERTIES.has(name) && !svg) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const short = (id) => (id ? id.slice(0, 8) : '');
export const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)}%`);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const bytes = (n) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

export function statusBadge(status) {
  return h('span', { class: `status status-${status}`, dataset: { status } }, status);
}

export function progressBar(progress, runId) {
  const value = Math.round((progress ?? 0) * 100);
  const fill = h('span');
  fill.style.width = `${value}%`;
  return h('span', { class: 'progress', dataset: { runId: runId ?? '', progress: String(value) } }, h('span', { class: 'bar' }, fill), `${value}%`);
}

/** Where a run is shown: evaluations have their own page. */
export const runHref = (run) => (run.kind === 'evaluation' ? `#/evaluations/${run.id}` : `#/runs/${run.id}`);

/** A spec (or any JSON) as `a.b.c → value` rows, so every hyperparameter has a line of its own. */
export function flatten(value, prefix = '', out = new Map()) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, Array.isArray(value) ? value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ') : String(value));
  }
  return out;
}

/** An error as the page shows it: a bad key sends the user back to sign in; a 404 says so plainly. */
export function errorBox(err) {
  if (err instanceof ApiError && err.status === 401) {
    return h('div', { class: 'card error' }, 'The API did not accept your key: ', err.message, ' ', h('a', { href: '#/signin' }, 'Sign in again'));
  }
  if (err instanceof ApiError && err.status === 404) return h('div', { class: 'card error', dataset: { notFound: '' } }, 'Not found: ', err.message);
  return h('div', { class: 'card error' }, String(err.message ?? err));
}
