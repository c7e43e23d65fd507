import { BadRequestException } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { QueryFailedError } from 'typeorm';
import { StoreUnavailableError, unavailableStore, withinStoreTimeout } from './store-unavailable';

const REDIS_PORT = 6390;

function socketError(code: string, port: number): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:${port}`), { code, port, address: '127.0.0.1' });
}

describe('unavailableStore', () => {
  it('names Redis for what ioredis and BullMQ throw while it is down', () => {
    expect(unavailableStore(new Error("Stream isn't writeable and enableOfflineQueue options is false"), REDIS_PORT)).toBe('redis');
    expect(unavailableStore(new Error('Connection is closed.'), REDIS_PORT)).toBe('redis');
    expect(unavailableStore(new Error('Command timed out'), REDIS_PORT)).toBe('redis');
    expect(unavailableStore(socketError('ECONNREFUSED', REDIS_PORT), REDIS_PORT)).toBe('redis');
  });

  it('names Postgres for a refused or lost connection and a server going away', () => {
    expect(unavailableStore(socketError('ECONNREFUSED', 5432), REDIS_PORT)).toBe('postgres');
    expect(unavailableStore(new Error('timeout exceeded when trying to connect'), REDIS_PORT)).toBe('postgres');
    expect(unavailableStore(new Error('Connection terminated unexpectedly'), REDIS_PORT)).toBe('postgres');
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    expect(unavailableStore(new QueryFailedError('SELECT 1', [], shutdown), REDIS_PORT)).toBe('postgres');
    const starting = Object.assign(new Error('the database system is starting up'), { code: '57P03' });
    expect(unavailableStore(starting, REDIS_PORT)).toBe('postgres');
  });

  it('leaves every other error to the next filter', () => {
    expect(unavailableStore(new Error('boom'), REDIS_PORT)).toBeUndefined();
    expect(unavailableStore(new BadRequestException(['epochs: too many']), REDIS_PORT)).toBeUndefined();
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(unavailableStore(new QueryFailedError('INSERT', [], unique), REDIS_PORT)).toBeUndefined();
    expect(unavailableStore('a string', REDIS_PORT)).toBeUndefined();
  });

  it('keeps the store a StoreUnavailableError names', () => {
    expect(unavailableStore(new StoreUnavailableError('postgres', 'no answer'), REDIS_PORT)).toBe('postgres');
  });
});

describe('withinStoreTimeout', () => {
  it('gives up on a store that does not answer, naming it', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withinStoreTimeout('redis', never, 20)).rejects.toMatchObject({ store: 'redis', message: 'redis is unavailable' });
  });

  it('passes an answer and a failure through unchanged', async () => {
    await expect(withinStoreTimeout('postgres', Promise.resolve(42), 1000)).resolves.toBe(42);
    await expect(withinStoreTimeout('postgres', Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
  });

  it('takes an answer that arrived while the event loop was blocked past the timeout', async () => {
    // A server in another process (as Redis is) that answers at once; the answer lands while this test hogs the loop.
    const server = spawn(process.execPath, [
      '-e',
      "const s = require('net').createServer((c) => c.on('error', () => {}).on('data', () => c.end('pong')));" +
        " s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
    ]);
    try {
      const [line] = (await once(server.stdout, 'data')) as [Buffer];
      const client = connect(Number(line.toString()), '127.0.0.1').on('error', () => undefined);
      await once(client, 'connect');
      const answer = new Promise<string>((resolve) => client.once('data', (data: Buffer) => resolve(data.toString())));
      client.write('ping');
      const raced = withinStoreTimeout('redis', answer, 50);
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // Busy, as JSON.parse of a 32 MiB body keeps the loop from running timers and reading sockets.
      }
      await expect(raced).resolves.toBe('pong');
      client.destroy();
    } finally {
      server.kill();
    }
  });
});
