import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DASHBOARD_CSP, dashboardDir } from './dashboard-static';

describe('dashboardDir', () => {
  it('finds apps/api/ui above the source folder and above where the build puts it', () => {
    const ui = resolve(__dirname, '../../ui');
    expect(dashboardDir(__dirname)).toBe(ui);
    // dist/apps/api/src/dashboard, whether or not it has been built.
    expect(dashboardDir(resolve(__dirname, '../../../../dist/apps/api/src/dashboard'))).toBe(ui);
    expect(existsSync(join(ui, 'app.js'))).toBe(true);
  });

  it('fails naming the missing file where there is no checkout above', () => {
    expect(() => dashboardDir('/')).toThrow("the dashboard's files (apps/api/ui/index.html) are not above /");
  });
});

describe('DASHBOARD_CSP', () => {
  it('runs scripts from this origin only, and nothing inline', () => {
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(DASHBOARD_CSP).not.toContain('unsafe-eval');
  });
});
