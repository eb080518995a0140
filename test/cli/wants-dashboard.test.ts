import test from 'ava';
import { wantsDashboard } from '../../src/cli/dashboard-mode.js';

test('no dashboard with --headless, with CI set, or without a terminal', (t) => {
  t.false(wantsDashboard(true, {}));
  t.false(wantsDashboard(false, { CI: 'true' }));
  // ava's worker has no TTY on stdin/stdout, as under a service manager or in a pipe.
  t.false(wantsDashboard(false, {}));
});
