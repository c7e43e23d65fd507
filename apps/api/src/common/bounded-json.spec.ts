import { nestsDeeperThan, prototypeKeyPath } from './bounded-json';

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
    expect(prototypeKeyPath(JSON.parse('{"a":1,"__proto__":{"x":1}}'))).toBe('__proto__');
    expect(prototypeKeyPath(JSON.parse('{"modelJson":{"layers":[{"config":{"constructor":1}}]}}'))).toBe('modelJson.layers.0.config.constructor');
    expect(prototypeKeyPath(JSON.parse('[{"prototype":null}]'))).toBe('0.prototype');
  });

  it('answers null for bodies without them, primitives and null included', () => {
    expect(prototypeKeyPath({ a: [1, { b: 'constructor' }], proto: 1 })).toBeNull();
    expect(prototypeKeyPath(null)).toBeNull();
    expect(prototypeKeyPath('__proto__')).toBeNull();
  });
});
