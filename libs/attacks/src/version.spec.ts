import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTACKS_VERSION } from './version';

it('ATTACKS_VERSION follows the package version', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
  expect(ATTACKS_VERSION).toBe(pkg.version);
});
