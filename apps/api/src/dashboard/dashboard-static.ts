import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The dashboard's page holds no data (every call it makes needs the key), so it is served to
 * anyone; scripts only from this origin, so an injected string can never run as code, and no
 * framing, so no other site can overlay it.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * apps/api/ui holds plain ES modules, not compiled; the API runs from apps/api/src (ts-jest) or
 * dist/apps/api/src (node), so the folder is found by walking up to the checkout (or /app in the image).
 */
export function dashboardDir(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'apps', 'api', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`the dashboard's files (apps/api/ui/index.html) are not above ${from}`);
  }
}

/** Chart.js from the installed package, never from a CDN: its `exports` hide package.json, not its main file's folder. */
function chartJsFile(): string {
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

function dashboardHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

/** /ui (index.html, its modules and styles) and /ui/vendor/chart.umd.js, before Nest's routes and guards. */
export function mountDashboard(app: INestApplication): void {
  const dir = dashboardDir();
  const chart = chartJsFile();
  app.use('/ui', dashboardHeaders);
  app.use('/ui/vendor/chart.umd.js', (_req: Request, res: Response) => {
    res.sendFile(resolve(chart), { maxAge: '1h' });
  });
  // The page and its modules change with every deploy: revalidated each time, never stale.
  app.use('/ui', express.static(dir, { index: 'index.html', redirect: true, maxAge: 0, fallthrough: true }));
}
