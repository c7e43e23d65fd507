import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluationBody } from './plan';
import { loadPlanFile, parsePlan, PlanFileError } from './plan-file';
import { planFingerprints } from './plan-fingerprint';

const UPLOAD = 'upload:3f2b8c1e-5d4a-4c3b-9a8e-7f6d5c4b3a21';

/** A small valid plan: a plain MLP, a fine-tuned one built on it, and an evaluation of each. */
function plan(): { trainings: Array<Record<string, unknown>>; evaluations: Array<Record<string, unknown>> } {
  return {
    trainings: [
      { id: 'plain', dataset: UPLOAD, defense: 'none', body: { kind: 'train', model: 'mlp', epochs: 2, batchSize: 64, seed: 1 } },
      {
        id: 'hardened',
        dataset: UPLOAD,
        defense: 'fgsm-at',
        parent: { plan: 'plain', field: 'fromCheckpoint' },
        body: { kind: 'adversarial-training', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 1, batchSize: 64, seed: 1 },
      },
    ],
    evaluations: [
      { id: 'eval-plain', source: 'plain', defense: 'none', epsilons: [0.1], examples: 50 },
      { id: 'eval-hardened', source: 'hardened', defense: 'fgsm-at', epsilons: [0.1], examples: 50, extra: { params: { apgd: { steps: 10 } } } },
    ],
  };
}

const parse = (value: unknown) => parsePlan(JSON.stringify(value), 'my-plan.json');
/** The message a plan is refused with. */
function refusal(value: unknown): string {
  try {
    parse(value);
  } catch (error) {
    if (error instanceof PlanFileError) return error.message;
    throw error;
  }
  throw new Error('the plan was accepted');
}

describe('a plan file of your own', () => {
  it('becomes the same entries as plan.ts: the dataset in every body, an empty rationale where none is given', () => {
    const { trainings, evaluations } = parse(plan());
    expect(trainings).toEqual([
      {
        id: 'plain',
        dataset: UPLOAD,
        defense: 'none',
        rationale: '',
        body: { kind: 'train', model: 'mlp', epochs: 2, batchSize: 64, seed: 1, dataset: UPLOAD },
      },
      expect.objectContaining({ id: 'hardened', parent: { plan: 'plain', field: 'fromCheckpoint' }, body: expect.objectContaining({ dataset: UPLOAD }) }),
    ]);
    expect(evaluations[1]).toEqual({
      id: 'eval-hardened',
      source: 'hardened',
      defense: 'fgsm-at',
      epsilons: [0.1],
      examples: 50,
      extra: { params: { apgd: { steps: 10 } } },
      rationale: '',
    });
    expect(evaluationBody(evaluations[1], 'run-1')).toEqual({
      runId: 'run-1',
      epsilons: [0.1],
      suite: 'standard',
      examples: 50,
      seed: 0,
      params: { apgd: { steps: 10 } },
    });
    // An entry without examples gets the built-in plan's.
    expect(evaluationBody({ ...evaluations[0], examples: undefined }, 'run-1').examples).toBe(1000);
    expect([...planFingerprints(trainings, evaluations).keys()]).toEqual(['plain', 'hardened', 'eval-plain', 'eval-hardened']);
  });

  it('takes a built-in dataset name as well as an upload, and a body that repeats the dataset', () => {
    const value = plan();
    value.trainings = [{ ...value.trainings[0], dataset: 'fashion-mnist', body: { ...(value.trainings[0].body as object), dataset: 'fashion-mnist' } }];
    value.evaluations = [value.evaluations[0]];
    expect(parse(value).trainings[0].dataset).toBe('fashion-mnist');
  });

  it.each([
    ['bad JSON', '{ "trainings": [', /^my-plan\.json: not valid JSON \(/],
    ['not an object', '[]', /^my-plan\.json: must be a JSON object/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parsePlan(text, 'my-plan.json')).toThrow(message);
  });

  const edit = (change: (p: ReturnType<typeof plan>) => void) => {
    const value = plan();
    change(value);
    return value;
  };

  it.each<[string, (p: ReturnType<typeof plan>) => void, string]>([
    ['a duplicate id', (p) => (p.evaluations[1].id = 'plain'), 'id "plain" is used by more than one entry'],
    ['a missing body', (p) => delete p.trainings[0].body, 'trainings[0] ("plain"): body is required'],
    ['a body that is not an object', (p) => (p.trainings[0].body = 'train'), 'trainings[0] ("plain"): body must be an object'],
    [
      'an unknown dataset',
      (p) => (p.trainings[0].dataset = 'imagenet'),
      'trainings[0] ("plain"): dataset "imagenet" must be one of mnist, fashion-mnist, cifar10, or upload:<id>',
    ],
    ['a missing dataset', (p) => delete p.trainings[1].dataset, 'trainings[1] ("hardened"): dataset is required'],
    ['a body with another dataset', (p) => (p.trainings[0].body = { ...(p.trainings[0].body as object), dataset: 'mnist' }), 'body.dataset "mnist" differs'],
    [
      'an unknown parent',
      (p) => (p.trainings[1].parent = { plan: 'base', field: 'fromCheckpoint' }),
      'trainings[1] ("hardened"): parent.plan "base" is not a training',
    ],
    ['a parent field the API lacks', (p) => (p.trainings[1].parent = { plan: 'plain', field: 'checkpoint' }), 'trainings[1] ("hardened"): parent must be'],
    ['a parent cycle', (p) => (p.trainings[0].parent = { plan: 'hardened', field: 'fromCheckpoint' }), 'trainings: "plain" builds on itself'],
    ['an unknown source', (p) => (p.evaluations[0].source = 'nothing'), 'evaluations[0] ("eval-plain"): source "nothing" is not a training of the plan'],
    ['an evaluation of an evaluation', (p) => (p.evaluations[1].source = 'eval-plain'), 'source "eval-plain" is not a training of the plan'],
    ['non-numeric epsilons', (p) => (p.evaluations[0].epsilons = ['0.1', 0.2]), 'evaluations[0] ("eval-plain"): epsilons must be numbers above 0, got "0.1"'],
    ['no epsilons', (p) => delete p.evaluations[0].epsilons, 'evaluations[0] ("eval-plain"): epsilons must be a non-empty array of numbers'],
    ['a missing defense', (p) => delete p.evaluations[0].defense, 'evaluations[0] ("eval-plain"): defense is required'],
    [
      'a suite in extra',
      (p) => (p.evaluations[0].extra = { suite: 'quick' }),
      'evaluations[0] ("eval-plain"): extra.suite is set by the plan (the standard suite',
    ],
    ['a misspelt field', (p) => (p.evaluations[0].epsilon = 0.1), 'evaluations[0] ("eval-plain"): unknown field "epsilon"'],
    ['an id unfit for a key', (p) => (p.trainings[0].id = 'my run'), 'trainings[0] ("my run"): id must be a string of letters'],
    ['no evaluations', (p) => (p.evaluations = []), 'evaluations: must be a non-empty array of entries'],
    [
      'a body the API would refuse',
      (p) => (p.trainings[0].body = { kind: 'train', model: 'mlp', epochs: 0, batchSize: 64, seed: 1 }),
      'trainings[0] ("plain"): body: epochs',
    ],
    [
      'a parent field in the body',
      (p) => (p.trainings[1].body = { ...(p.trainings[1].body as object), fromCheckpoint: 'x' }),
      'body.fromCheckpoint is set by parent',
    ],
    ['too many examples', (p) => (p.evaluations[0].examples = 20000), 'evaluations[0] ("eval-plain"): the POST /evaluations body it makes: examples'],
    [
      'attack settings the API lacks',
      (p) => (p.evaluations[1].extra = { params: { apgd: { step: 10 } } }),
      'evaluations[1] ("eval-hardened"): the POST /evaluations body it makes: params.apgd.',
    ],
  ])('refuses %s, naming the entry and field', (_, change, message) => {
    expect(refusal(edit(change))).toContain(message);
  });

  it('lists every problem of the file at once', () => {
    const message = refusal(
      edit((p) => {
        delete p.trainings[0].body;
        p.evaluations[1].epsilons = 'all';
      }),
    );
    expect(message.split('\n')).toEqual([
      'my-plan.json: 2 problems',
      '  trainings[0] ("plain"): body is required (the POST /runs body: kind, model, epochs …)',
      '  evaluations[1] ("eval-hardened"): epsilons must be a non-empty array of numbers',
    ]);
  });

  describe('on disk', () => {
    let folder: string;
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'bulwark-plan-'));
    });
    afterAll(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    it('reads a file, and names one it cannot read', async () => {
      const path = join(folder, 'plan.json');
      await writeFile(path, JSON.stringify(plan()));
      expect((await loadPlanFile(path)).evaluations).toHaveLength(2);
      await expect(loadPlanFile(join(folder, 'missing.json'))).rejects.toThrow(`${join(folder, 'missing.json')}: cannot be read`);
    });

    it("accepts the README's example, docs/examples/robustness-plan.json", async () => {
      const example = await loadPlanFile(join(__dirname, '../../docs/examples/robustness-plan.json'));
      expect(example.trainings.map((t) => t.id)).toEqual(['clothes-plain', 'clothes-fgsm-rs']);
      expect(example.evaluations.map((e) => e.source)).toEqual(['clothes-plain', 'clothes-fgsm-rs']);
    });
  });
});
