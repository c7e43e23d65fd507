import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarGz } from './model-archive';

describe('tarGz', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bulwark-tar-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes an archive that tar lists and unpacks byte for byte, sizes off and on the 512-byte block', async () => {
    const entries = [
      { name: 'model/model.json', data: Buffer.from('{"format":"layers-model"}') },
      { name: 'model/weights.bin', data: Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 251)) },
      { name: 'model/empty.bin', data: Buffer.alloc(0) },
    ];
    const file = join(root, 'a.tar.gz');
    await writeFile(file, tarGz(entries));

    const listing = spawnSync('tar', ['-tvzf', file], { encoding: 'utf8' });
    expect(listing.stderr).toBe('');
    expect(
      listing.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).pop()),
    ).toEqual(entries.map((e) => e.name));
    const unpacked = spawnSync('tar', ['-xzf', file, '-C', root], { encoding: 'utf8' });
    expect(unpacked.status).toBe(0);
    for (const { name, data } of entries) expect((await readFile(join(root, name))).equals(data)).toBe(true);
  });

  it('refuses a name ustar cannot hold', () => {
    expect(() => tarGz([{ name: 'x'.repeat(101), data: Buffer.alloc(1) }])).toThrow(/longer than 100 bytes/);
  });
});
