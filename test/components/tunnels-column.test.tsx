/**
 * Open WebSocket tunnels per backend are a column of their own (issue 8: "the dashboard shows
 * open tunnels per backend"), dropped before the essential columns on a narrow terminal.
 */
import test from 'ava';
import { backend, renderDashboard, snapshot } from './render-helper.js';

test('the ws column shows each backend\'s open tunnels beside its in-flight count', async (t) => {
  const ui = await renderDashboard(
    snapshot([{ backends: [backend('chat', 9001, { inFlight: 5, tunnels: 3 }), backend('api', 9002, { inFlight: 1, tunnels: 0 })] }]),
    { columns: 160 },
  );
  const header = ui.lines().find((l) => /backend\s+state/.test(l)) ?? '';
  t.regex(header, /inflight\s+ws\s/);
  const row = (name: string): string => ui.lines().find((l) => l.startsWith(`  ${name} `) || l.startsWith(`› ${name} `)) ?? '';
  t.regex(row('chat'), /closed\s+5\s+3\s/);
  t.regex(row('api'), /closed\s+1\s+0\s/);
});
