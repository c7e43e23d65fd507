import { gzipSync } from 'node:zlib';

export interface ArchiveEntry {
  /** Path inside the archive, '/'-separated, at most 100 bytes (ustar's name field). */
  name: string;
  data: Buffer;
}

const BLOCK = 512;

/**
 * A gzip-compressed ustar archive of regular files: what `tar xzf` and every archive tool read.
 * An exported model is two files, so a few dozen lines here spare a dependency.
 */
export function tarGz(entries: readonly ArchiveEntry[], mtime = new Date(0)): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data } of entries) {
    blocks.push(header(name, data.length, mtime), data, Buffer.alloc(padding(data.length)));
  }
  // Two zero blocks end the archive.
  blocks.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(blocks));
}

function header(name: string, size: number, mtime: Date): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`archive entry name ${name} is longer than 100 bytes`);
  const block = Buffer.alloc(BLOCK);
  nameBytes.copy(block, 0);
  octal(block, 100, 8, 0o644); // mode
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  octal(block, 124, 12, size);
  octal(block, 136, 12, Math.floor(mtime.getTime() / 1000));
  block.fill(' ', 148, 156); // the checksum counts its own field as spaces
  block.write('0', 156, 'latin1'); // regular file
  block.write('ustar\u000000', 257, 'latin1');
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.write(`${checksum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return block;
}

/** A zero-padded octal number ending in NUL, as ustar's numeric fields hold them. */
function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, 'latin1');
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
