import { Server, Socket, createConnection, createServer } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Cuts every open connection and refuses new ones (ECONNREFUSED), as a store that went down. */
  cut: () => Promise<void>;
  /** Accepts connections again on the same port, as when the store comes back. */
  restore: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * A TCP proxy to a service (Postgres, Redis) that a test can cut and restore: an outage of that
 * service for the processes that connect through it, and for them only, leaving the machine's
 * service running for everyone else.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection(target);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      const closing = server;
      server = undefined;
      if (closing) closing.close(() => resolve());
      else resolve();
    });

  await listen();
  return { port, cut: stop, restore: listen, close: stop };
}
