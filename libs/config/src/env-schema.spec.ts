import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SCHEMA } from './env-schema';

describe('ENV_SCHEMA', () => {
  it('declares each variable once', () => {
    const names = ENV_SCHEMA.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is documented in the README, every variable with its default', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    for (const v of ENV_SCHEMA) {
      // Prettier pads the table's cells to line up: the row is the one whose first cell is the name.
      const row = readme.split('\n').find((line) => line.split('|')[1]?.trim() === `\`${v.name}\``);
      expect(row).toBeDefined();
      if (v.default !== undefined) expect(row).toContain(`\`${v.default}\``);
    }
  });
});
