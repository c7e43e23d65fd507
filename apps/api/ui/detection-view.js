import { api } from './api.js';
import { errorBox, h, pct } from './dom.js';

const rate = (x) => (x === null || x === undefined ? '—' : pct(x));
const auc = (x) => (x === null || x === undefined ? '—' : x.toFixed(3));
/** A count over n as "12 / 50 (24.0%)": the fraction alone hides how few examples it rests on. */
const countOf = (count, n) => `${count} / ${n} (${pct(n ? count / n : null)})`;

/**
 * The detectors of an evaluation: per detector its threshold and false-positive rates, then per
 * ε what each attack's fooling inputs did against it, and the stack's worst case. Detection rate
 * alone would flatter a detector: the detector-aware attack and the stack's robust count say
 * whether an attacker who knows it still gets through.
 */
export function detectionSection(detection) {
  if (!detection) return null;
  return h(
    'div',
    { id: 'detection' },
    h('h2', {}, 'Detectors'),
    h(
      'p',
      { class: 'muted' },
      `Thresholds set on ${detection.validation.n} clean ${detection.validation.split}ing examples (seed ${detection.validation.seed}). ` +
        'Detection rate: of the adversarial inputs that fool the classifier, the fraction rejected. Stack robust: the clean input is ' +
        'accepted and classified correctly, and no attack got a misclassified input accepted. "detector-aware-pgd" knows the detector: ' +
        'trust its row over the others.',
    ),
    ...detection.detectors.map((d) => detectorCard(d)),
  );
}

function detectorCard({ detector, points }) {
  return h(
    'div',
    { class: 'card detector', dataset: { detector: detector.kind } },
    h('h3', {}, detector.kind),
    h(
      'p',
      { class: 'muted' },
      `threshold ${detector.threshold.toPrecision(4)} · false positives on validation ${pct(detector.validationFpr)} (target ${pct(detector.targetFpr)})`,
      detector.preprocessing?.length ? ` · behind ${detector.preprocessing.map((p) => p.kind).join(' → ')}` : '',
    ),
    ...points.map((p) =>
      h(
        'table',
        { class: 'detection-table', dataset: { epsilon: String(p.epsilon) } },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h(
              'th',
              { colSpan: 6 },
              `ε = ${p.epsilon} · n = ${p.n} · clean false positives ${pct(p.cleanFalsePositiveRate)} · clean accepted and correct ${countOf(p.cleanAccepted, p.n)}`,
            ),
          ),
          h('tr', {}, ...['attack', 'fooled the model', 'rejected', 'detection rate', 'ROC AUC', 'stack robust'].map((t) => h('th', {}, t))),
        ),
        h(
          'tbody',
          {},
          ...p.outcomes.map((o) =>
            h(
              'tr',
              { dataset: { attack: o.attack } },
              h('td', { class: 'mono' }, o.attack),
              h('td', {}, String(o.fooled)),
              h('td', {}, String(o.detected)),
              h('td', {}, rate(o.detectionRate)),
              h('td', {}, auc(o.rocAuc)),
              h('td', {}, countOf(o.stackRobust, p.n)),
            ),
          ),
          h(
            'tr',
            { class: 'worst', dataset: { attack: 'worst-case' } },
            h('td', {}, h('strong', {}, 'worst case')),
            h('td', { colSpan: 4, class: 'muted' }, `per example over ${p.worstCase.attacks.join(', ')}`),
            h('td', {}, h('strong', {}, countOf(p.worstCase.stackRobust, p.n))),
          ),
        ),
      ),
    ),
  );
}

/**
 * Asks the evaluated stack (defense → model → detector) about a gallery example's clean and
 * adversarial images, as a deployed service would see them: the answer is a class or a rejection.
 */
export function askTheStack(evaluationId, example, detectors) {
  const answer = h('div', { class: 'stack-answer', dataset: { exampleId: example.id } });
  const choice = h('select', { class: 'stack-detector', 'aria-label': 'detector' }, ...detectors.map((kind) => h('option', { value: kind }, kind)));
  const toInput = (b64) => Array.from(atob(b64), (c) => c.charCodeAt(0) / 255);
  const describe = (p) =>
    p.rejected
      ? `rejected as adversarial by ${p.detector} (score ${p.score.toPrecision(3)})`
      : `class ${p.label}${p.className && p.className !== String(p.label) ? ` (${p.className})` : ''}`;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        button.disabled = true;
        answer.replaceChildren(h('span', { class: 'muted' }, 'asking a worker…'));
        try {
          const { predictions } = await api('POST', `/evaluations/${evaluationId}/predict`, {
            inputs: [toInput(example.clean), toInput(example.adversarial)],
            detector: choice.value,
          });
          answer.replaceChildren(
            h('div', { dataset: { input: 'clean', rejected: String(predictions[0].rejected) } }, `clean → ${describe(predictions[0])}`),
            h('div', { dataset: { input: 'adversarial', rejected: String(predictions[1].rejected) } }, `adversarial → ${describe(predictions[1])}`),
          );
        } catch (err) {
          answer.replaceChildren(errorBox(err));
        } finally {
          button.disabled = false;
        }
      },
    },
    'Ask the stack',
  );
  return h('div', { class: 'ask-stack' }, detectors.length > 1 ? choice : null, ' ', button, answer);
}
