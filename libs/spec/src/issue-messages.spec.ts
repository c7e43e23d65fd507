import { z } from 'zod';
import { MAX_MESSAGES, fieldMessage, formatMessage, parseWithMessages } from './issue-messages';

const errorsOf = (schema: z.ZodType, input: unknown): string[] => {
  const parsed = parseWithMessages(schema, input);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return parsed.errors;
};

describe("zod issues in the API's wording", () => {
  const body = z.strictObject({
    kind: z.enum(['train', 'adversarial-training']),
    epochs: z.int().min(1),
    rate: z.number().positive().max(1),
    share: z.number().min(0.05).max(0.5).optional(),
    attack: z.strictObject({ name: z.enum(['fgsm']), epsilon: z.number() }).optional(),
    epsilons: z.array(z.number().min(0)).min(1).max(3).optional(),
    name: z.string().max(5).optional(),
    flag: z.boolean().optional(),
    id: z.guid(formatMessage('must be a UUID')).optional(),
    layer: z
      .string()
      .regex(/^[a-z]+$/, fieldMessage('must be a layer name'))
      .optional(),
    items: z.array(z.strictObject({ fpr: z.number().positive() })).optional(),
    json: z.record(z.string(), z.unknown()).optional(),
  });
  const valid = { kind: 'train', epochs: 1, rate: 0.5 };

  it.each([
    ['an unknown enum value', { ...valid, kind: 'pretrain' }, 'kind must be one of the following values: train, adversarial-training'],
    ['a missing enum value', { epochs: 1, rate: 0.5 }, 'kind must be one of the following values: train, adversarial-training'],
    ['a fraction where an integer goes', { ...valid, epochs: 1.5 }, 'epochs must be an integer number'],
    ['a string where an integer goes', { ...valid, epochs: '2' }, 'epochs must be an integer number'],
    ['a value under an inclusive minimum', { ...valid, epochs: 0 }, 'epochs must not be less than 1'],
    ['zero for a positive number', { ...valid, rate: 0 }, 'rate must be a positive number'],
    ['a value over a maximum', { ...valid, rate: 1.5 }, 'rate must not be greater than 1'],
    ['a string where a number goes', { ...valid, rate: '0.5' }, 'rate must be a number conforming to the specified constraints'],
    ['a fractional minimum', { ...valid, share: 0.01 }, 'share must not be less than 0.05'],
    ['a nested value', { ...valid, attack: { name: 'pgd', epsilon: 0.1 } }, 'attack.name must be one of the following values: fgsm'],
    ['a nested object that is a string', { ...valid, attack: 'fgsm' }, 'nested property attack must be either object or array'],
    ['an unknown top-level field', { ...valid, gpu: true }, 'property gpu should not exist'],
    ['an unknown nested field', { ...valid, attack: { name: 'fgsm', epsilon: 0.1, steps: 3 } }, 'attack.property steps should not exist'],
    ['an element of a list of values', { ...valid, epsilons: [-1] }, 'each value in epsilons must not be less than 0'],
    ['a list that is empty', { ...valid, epsilons: [] }, 'epsilons must contain at least 1 elements'],
    ['a list that is too long', { ...valid, epsilons: [1, 2, 3, 4] }, 'epsilons must contain no more than 3 elements'],
    ['a list that is no list', { ...valid, epsilons: 3 }, 'epsilons must be an array'],
    ['a field of an object in a list', { ...valid, items: [{ fpr: 1 }, { fpr: 0 }] }, 'items.1.fpr must be a positive number'],
    ['a string too long', { ...valid, name: 'abcdefg' }, 'name must be shorter than or equal to 5 characters'],
    ['a boolean that is not one', { ...valid, flag: 'yes' }, 'flag must be a boolean value'],
    ['a malformed UUID', { ...valid, id: 'latest' }, 'id must be a UUID'],
    ['a UUID that is no string', { ...valid, id: 5 }, 'id must be a UUID'],
    ['a custom check', { ...valid, layer: 'dense 1' }, 'layer must be a layer name'],
    ['a free-form object that is none', { ...valid, json: 'x' }, 'json must be an object'],
  ])('names the field of %s', (_case, input, message) => {
    expect(errorsOf(body, input)).toContain(message);
  });

  it('answers every problem, each unknown property on its own, and a repeated one once', () => {
    expect(errorsOf(body, { ...valid, epochs: 0, a: 1, b: 2, epsilons: [-1, -2] })).toEqual([
      'epochs must not be less than 1',
      'each value in epsilons must not be less than 0',
      'property a should not exist',
      'property b should not exist',
    ]);
  });

  it('says an absent object is absent, and a body that is no object what it should be', () => {
    const wrapper = z.strictObject({ checkpoint: z.strictObject({ epoch: z.int() }) });
    expect(errorsOf(wrapper, {})).toEqual(['checkpoint should not be null or undefined']);
    expect(errorsOf(wrapper, [])).toEqual(['body must be a JSON object']);
  });

  it(`lists at most ${MAX_MESSAGES} problems and says how many more there are`, () => {
    const errors = errorsOf(
      z.array(z.number({ error: (issue) => `value ${String(issue.path?.join('.'))} is wrong` })),
      Array.from({ length: 50 }, () => 'x'),
    );
    expect(errors).toHaveLength(MAX_MESSAGES + 1);
    expect(errors[0]).toBe('value 0 is wrong');
    expect(errors[MAX_MESSAGES]).toBe(`(${50 - MAX_MESSAGES} more problems not listed)`);
  });

  it('returns the parsed value when there is no problem', () => {
    expect(parseWithMessages(body, { ...valid, attack: { name: 'fgsm', epsilon: 0.1 } })).toEqual({
      ok: true,
      value: { ...valid, attack: { name: 'fgsm', epsilon: 0.1 } },
    });
  });
});
