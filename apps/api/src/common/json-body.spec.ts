import { PROTOTYPE_KEYS } from '@bulwark/spec';
import { nestsDeeperThan, parseJsonBody, prototypeKeyPath } from './json-body';
import { JsonParseThread } from './json-parse-thread';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('nestsDeeperThan', () => {
  it('counts arrays and objects together, up to and over the limit', () => {
    expect(nestsDeeperThan(bytes('[{"a":[1]}]'), 3)).toBe(false);
    expect(nestsDeeperThan(bytes('[{"a":[[1]]}]'), 3)).toBe(true);
    expect(nestsDeeperThan(bytes(`${'['.repeat(7000)}${']'.repeat(7000)}`), 64)).toBe(true);
  });

  it('measures depth, not how many containers there are', () => {
    expect(nestsDeeperThan(bytes(JSON.stringify(Array.from({ length: 10_000 }, () => [[1]]))), 3)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: '[[[[[[' })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: 'say \\"[[[[ " {{{{' })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: 'é[ü{' })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: 'ends in a backslash \\', b: [[1]] })), 2)).toBe(true);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: 'x'.repeat(1_000_000), b: [1] })), 2)).toBe(false);
  });
});

describe('prototypeKeyPath', () => {
  it('finds __proto__, constructor and prototype at any depth, naming the path', () => {
    expect(prototypeKeyPath(JSON.parse('{"a":1,"__proto__":{"x":1}}'), PROTOTYPE_KEYS)).toBe('__proto__');
    expect(prototypeKeyPath(JSON.parse('{"modelJson":{"layers":[{"config":{"constructor":1}}]}}'), PROTOTYPE_KEYS)).toBe(
      'modelJson.layers.0.config.constructor',
    );
    expect(prototypeKeyPath(JSON.parse('[{"prototype":null}]'), PROTOTYPE_KEYS)).toBe('0.prototype');
  });

  it('answers null for bodies without them, primitives and null included', () => {
    expect(prototypeKeyPath({ a: [1, { b: 'constructor' }], proto: 1 }, PROTOTYPE_KEYS)).toBeNull();
    expect(prototypeKeyPath(null, PROTOTYPE_KEYS)).toBeNull();
    expect(prototypeKeyPath('__proto__', PROTOTYPE_KEYS)).toBeNull();
  });
});

describe('parseJsonBody, on the event loop and on the parsing thread', () => {
  const thread = new JsonParseThread();
  afterAll(() => thread.close());

  const cases: Array<[string, string]> = [
    ['an object', '{"epochs":3,"weights":"' + 'QUFB'.repeat(100_000) + '"}'],
    ['an array', ' [1, {"a": null}]'],
    ['an empty body', ''],
    ['too deep', '['.repeat(65) + ']'.repeat(65)],
    ['not JSON', '{"a": }'],
    ['a bare string', '"just text"'],
    ['a prototype key', '{"modelJson":{"layers":[{"__proto__":{"x":1}}]}}'],
  ];

  it.each(cases)('gives the same outcome for %s', async (_, text) => {
    const onLoop = parseJsonBody(bytes(text), 64, PROTOTYPE_KEYS);
    expect(await thread.parse(bytes(text), 64, PROTOTYPE_KEYS)).toEqual(onLoop);
  });

  it('says what is wrong', () => {
    expect(parseJsonBody(bytes('['.repeat(65) + ']'.repeat(65)), 64, PROTOTYPE_KEYS)).toMatchObject({ ok: false, problem: 'too-deep' });
    expect(parseJsonBody(bytes('"just text"'), 64, PROTOTYPE_KEYS)).toMatchObject({
      ok: false,
      problem: 'syntax',
      message: expect.stringContaining('JSON object or array'),
    });
    expect(parseJsonBody(bytes('{"a":{"constructor":1}}'), 64, PROTOTYPE_KEYS)).toEqual({ ok: false, problem: 'prototype-key', path: 'a.constructor' });
    expect(parseJsonBody(bytes(''), 64, PROTOTYPE_KEYS)).toEqual({ ok: true, value: {} });
  });

  it('parses several bodies at once, each to its own answer, without holding the event loop', async () => {
    const big = () => bytes(JSON.stringify({ weights: 'QUFB'.repeat(6_000_000) }));
    const started = performance.now();
    parseJsonBody(big(), 64, PROTOTYPE_KEYS);
    const onLoopMs = performance.now() - started;

    // The longest the loop went without running a 1 ms interval while the thread parsed the same body.
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last);
      last = performance.now();
    }, 1);
    const body = big();
    last = performance.now();
    const answers = await Promise.all([thread.parse(body, 64, PROTOTYPE_KEYS), thread.parse(bytes('{"b":2}'), 64, PROTOTYPE_KEYS)]);
    clearInterval(ticker);
    expect(answers[1]).toEqual({ ok: true, value: { b: 2 } });
    expect((answers[0] as { value: { weights: string } }).value.weights).toHaveLength(24_000_000);
    expect(longestGap).toBeLessThan(onLoopMs / 2);
  });
});
