/**
 * Backends from a discovery provider are marked in the dashboard (issue 12: "marked as such in
 * the dashboard and API"): a `src` column appears once a pool has one, and says `docker`/`dns`.
 */
import test from 'ava';
import { backend, renderDashboard, snapshot } from './render-helper.js';

test('a src column marks the backends Docker discovered; the file\'s backends are left blank', async (t) => {
  const ui = await renderDashboard(
    snapshot([{ backends: [backend('web-1', 9001, { source: 'docker', weight: 3 }), backend('api', 9002)] }]),
    { columns: 160 },
  );
  const header = ui.lines().find((l) => /backend\s+state/.test(l)) ?? '';
  t.regex(header, /weight\s+src/);
  const row = (name: string): string => ui.lines().find((l) => l.startsWith(`  ${name} `) || l.startsWith(`› ${name} `)) ?? '';
  t.regex(row('web-1'), /\s3\s+docker/);
  t.notRegex(row('api'), /docker|config/);
});

test('without discovered backends there is no src column', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: [backend('api', 9002), backend('b', 9003, { source: 'runtime' })] }]), { columns: 160 });
  const header = ui.lines().find((l) => /backend\s+state/.test(l)) ?? '';
  t.notRegex(header, /\bsrc\b/);
});
