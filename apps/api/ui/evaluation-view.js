import { api } from './api.js';
import { lineChart } from './charts.js';
import { askTheStack, detectionSection } from './detection-view.js';
import { errorBox, h, pct, progressBar, short, statusBadge, when } from './dom.js';
import { specTable } from './run-view.js';

const ENDED = ['succeeded', 'failed', 'cancelled'];

/** What each validity flag means, in a sentence a reader without the paper can act on. */
export const FLAG_EXPLANATIONS = {
  'iterative-weaker-than-single-step':
    'An iterative attack (PGD) broke fewer examples than a single step (FGSM): the iterative attack is misconfigured or the gradients mislead it, so the robust accuracy is likely overstated.',
  'robustness-rose-with-epsilon':
    'Robust accuracy went up as ε grew, which a real attack cannot cause: the attacks are failing to find adversarial inputs they should find.',
  'not-broken-at-large-epsilon': 'The model kept some accuracy at an ε large enough to destroy any image: a sign of gradient masking rather than robustness.',
  'black-box-beat-white-box':
    'A black-box attack (Square) broke examples the gradient attacks could not: the gradients are masked, so white-box numbers overstate robustness.',
  'zero-or-nan-gradients': 'The loss gradients were zero or NaN on some inputs: gradient attacks cannot move there, so robustness there is unmeasured.',
  'stochastic-forward-pass':
    'The model gives different outputs for the same input: attacks need Expectation over Transformation (EOT) to be trusted against it.',
};

/** A curve as chart series: clean accuracy, each attack, and the per-example worst case ("suite") in bold. */
export function curveSeries(curve, prefix = '') {
  if (!curve?.length) return [];
  const attacks = [...new Set(curve.flatMap((p) => Object.keys(p.robustAccuracy)))].sort((a, b) => (a === 'suite') - (b === 'suite'));
  return [
    { label: `${prefix}clean`, points: curve.map((p) => ({ x: p.epsilon, y: p.cleanAccuracy })), dashed: true },
    ...attacks.map((a) => ({
      label: `${prefix}${a === 'suite' ? 'worst case (suite)' : a}`,
      points: curve.filter((p) => p.robustAccuracy[a] !== undefined).map((p) => ({ x: p.epsilon, y: p.robustAccuracy[a] })),
      bold: a === 'suite',
    })),
  ];
}

function curveTable(curve, id) {
  const attacks = [...new Set(curve.flatMap((p) => Object.keys(p.robustAccuracy)))].filter((a) => a !== 'suite');
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, ...['ε', 'n', 'clean', ...attacks, 'worst case'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      ...curve.map((p) =>
        h(
          'tr',
          {},
          h('td', {}, String(p.epsilon)),
          h('td', {}, String(p.n)),
          h('td', {}, pct(p.cleanAccuracy)),
          ...attacks.map((a) => h('td', {}, pct(p.robustAccuracy[a]))),
          h('td', {}, h('strong', {}, pct(p.robustAccuracy.suite))),
        ),
      ),
    ),
  );
}

/** uint8 [H, W, C] pixels (base64) on a canvas; `perturbation` shows |adversarial − clean| scaled to its maximum. */
function pixels(example, which) {
  const [height, width, channels] = example.shape;
  const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const clean = decode(example.clean);
  const adversarial = decode(example.adversarial);
  const canvas = h('canvas', { width, height, dataset: { image: which } });
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  let scale = 1;
  if (which === 'perturbation') {
    let max = 0;
    for (let i = 0; i < clean.length; i++) max = Math.max(max, Math.abs(adversarial[i] - clean[i]));
    scale = max ? 255 / max : 0;
  }
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const i = p * channels + (channels === 1 ? 0 : c);
      image.data[p * 4 + c] = which === 'clean' ? clean[i] : which === 'adversarial' ? adversarial[i] : Math.abs(adversarial[i] - clean[i]) * scale;
    }
    image.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** `stack`: the evaluation's id and detector kinds when its stack can be asked about an example (a succeeded evaluation with detectors). */
function gallery(stored, stack) {
  // At ε = 0 the "adversarial" image is the clean one: nothing to look at.
  const examples = stored.filter((e) => e.epsilon > 0);
  if (examples.length === 0) return h('p', { class: 'muted' }, 'No examples stored (galleryPerEpsilon was 0, or the evaluation has not finished).');
  return h(
    'div',
    { class: 'gallery', id: 'gallery' },
    ...examples.map((e) =>
      h(
        'div',
        { class: 'example', dataset: { exampleId: e.id } },
        h(
          'div',
          { class: 'images' },
          h('figure', {}, pixels(e, 'clean'), h('figcaption', {}, `clean → ${e.cleanPrediction}`)),
          h('figure', {}, pixels(e, 'adversarial'), h('figcaption', {}, `adversarial → ${e.adversarialPrediction}`)),
          h('figure', {}, pixels(e, 'perturbation'), h('figcaption', {}, 'perturbation (scaled)')),
        ),
        h(
          'p',
          { class: e.adversarialPrediction === e.label ? 'muted' : 'error' },
          `label ${e.label} · ε = ${e.epsilon} · ${e.attack ? `broken by ${e.attack}` : 'not broken'} · ${e.view}`,
        ),
        h('p', { class: 'muted mono' }, `‖δ‖∞ = ${e.linfNorm.toFixed(4)} · ‖δ‖₂ = ${e.l2Norm.toFixed(3)} · example #${e.exampleIndex}`),
        stack ? askTheStack(stack.evaluationId, e, stack.detectors) : null,
      ),
    ),
  );
}

function flagList(flags) {
  if (!Array.isArray(flags)) return h('p', { class: 'muted' }, 'Checked once the evaluation has succeeded.');
  return h(
    'div',
    { id: 'flags' },
    ...flags.map((f) =>
      h(
        'div',
        { class: `flag ${f.raised ? 'raised' : 'clear'}`, dataset: { flag: f.flag, raised: String(f.raised) } },
        h('strong', {}, `${f.raised ? '⚠ raised' : '✓ clear'}: ${f.flag}`, f.epsilon !== undefined ? ` (ε = ${f.epsilon})` : ''),
        // A clear flag still says what it guards against, so a reader knows what was ruled out.
        h('div', {}, f.raised ? '' : 'Not seen here; raised, it would mean: ', FLAG_EXPLANATIONS[f.flag] ?? ''),
        f.detail ? h('div', { class: 'muted' }, f.detail) : null,
      ),
    ),
  );
}

export async function evaluationView(root, id, { live }) {
  let evaluation = await api('GET', `/evaluations/${id}`);
  const headline = h('div', { class: 'card', id: 'evaluation-headline' });
  const chart = lineChart({
    title: 'Robustness curve: accuracy per attack against ε',
    xLabel: 'ε',
    yLabel: 'accuracy',
    series: [],
    percent: true,
    testId: 'curve',
  });
  const adaptiveChart = lineChart({
    title: 'Adaptive attacks (BPDA / EOT / logits)',
    xLabel: 'ε',
    yLabel: 'accuracy',
    series: [],
    percent: true,
    testId: 'adaptive',
  });
  const table = h('div');
  const flags = h('div');
  const examples = h('div');
  const adaptive = h('div');
  const detection = h('div');
  const spec = evaluation.run.spec;
  root.append(
    h('h1', {}, 'Evaluation ', h('span', { class: 'mono' }, short(id))),
    headline,
    h('h2', {}, 'Robustness curve'),
    h('div', { class: 'charts' }, chart.element),
    table,
    adaptive,
    detection,
    h('h2', {}, 'Validity flags'),
    flags,
    h('h2', {}, 'Adversarial gallery'),
    examples,
    h('h2', {}, 'Threat model and attack hyperparameters'),
    specTable(spec),
  );

  function draw(e) {
    const r = e.run;
    headline.replaceChildren(
      ...[
        h('p', {}, statusBadge(r.status), ' ', progressBar(r.progress, r.id), e.shards ? ` shards ${e.shards.done}/${e.shards.total}` : ''),
        r.error ? h('p', { class: 'error' }, r.error) : null,
        ENDED.includes(r.status) ? null : cancelButton(r),
        h(
          'p',
          { class: 'muted' },
          'Model: ',
          h('a', { href: `#/runs/${r.parentRunId}` }, short(r.parentRunId)),
          ` · ${r.spec.dataset} · ${r.spec.norm} · suite ${r.spec.suite} · ${r.spec.examples} seeded test examples (seed ${r.spec.seed}) · created ${when(r.createdAt)}`,
        ),
      ].filter(Boolean),
    );
    chart.update(curveSeries(e.curve));
    table.replaceChildren(
      e.curve.length
        ? h(
            'div',
            {},
            h('p', { class: 'muted' }, 'Robust accuracy is per example: correct on the clean input and on every attack; n is the number of examples measured.'),
            curveTable(e.curve, 'curve-table'),
          )
        : h('p', { class: 'muted' }, 'No points yet.'),
    );
    if (e.adaptiveCurve?.length) {
      adaptiveChart.update(curveSeries(e.adaptiveCurve));
      adaptive.replaceChildren(
        h('h2', {}, 'Naive and adaptive, side by side'),
        h('p', { class: 'muted' }, 'The defense hides gradients: the adaptive curve is the one to trust.'),
        h('div', { class: 'charts' }, adaptiveChart.element),
        curveTable(e.adaptiveCurve, 'adaptive-table'),
      );
    }
    detection.replaceChildren(...[detectionSection(e.detection)].filter(Boolean));
    flags.replaceChildren(flagList(e.flags));
    const detectors = (r.spec.detectors ?? []).map((d) => d.kind);
    examples.replaceChildren(gallery(e.examples, r.status === 'succeeded' && detectors.length ? { evaluationId: r.id, detectors } : undefined));
  }

  /** Shards that have not started compute nothing once the evaluation is cancelled; the page follows its status. */
  function cancelButton(r) {
    const button = h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        id: 'evaluation-cancel',
        disabled: Boolean(r.cancelRequestedAt),
        onclick: async () => {
          button.disabled = true;
          try {
            await api('POST', `/runs/${r.id}/cancel`);
            evaluation = await api('GET', `/evaluations/${id}`);
            draw(evaluation);
          } catch (err) {
            headline.append(errorBox(err));
            button.disabled = false;
          }
        },
      },
      r.cancelRequestedAt ? 'Cancel requested' : 'Cancel',
    );
    return h('p', {}, button);
  }

  draw(evaluation);

  let busy = false;
  const unsubscribe = live.subscribe(async (changed) => {
    if (busy || ENDED.includes(evaluation.run.status) || (changed !== null && !changed.has(id))) return;
    busy = true;
    try {
      evaluation = await api('GET', `/evaluations/${id}`);
      draw(evaluation);
    } catch (err) {
      headline.append(errorBox(err));
    } finally {
      busy = false;
    }
  });
  return () => {
    unsubscribe();
    chart.destroy();
    adaptiveChart.destroy();
  };
}
