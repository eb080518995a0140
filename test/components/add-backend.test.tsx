/** The `a` input: typed URL and weight go to control.addBackend; bad input is explained inline and never sent. */
import test from 'ava';
import { backendUrlProblem } from '../../src/config/backend-url.js';
import { VeloError } from '../../src/errors.js';
import { KEYS, backends, renderDashboard, snapshot } from './render-helper.js';

const three = () => snapshot([{ backends: backends(3) }]);

test('a, a URL, Enter: addBackend is called with it and the input closes', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a');
  await ui.waitFor(/add backend \(URL \[weight\]\):/);
  await ui.press('http://127.0.0.1:9004');
  await ui.waitFor(/add backend \(URL \[weight\]\): http:\/\/127\.0\.0\.1:9004/);
  await ui.press(KEYS.enter);
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'addBackend', args: ['default', { url: 'http://127.0.0.1:9004', weight: undefined }, 'dashboard'] });
  await ui.waitFor(/✓ added 127\.0\.0\.1:9004 to pool default/);
  t.notRegex(ui.frame(), /add backend \(/);
});

test('a weight after the URL is passed along; Backspace edits', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a', 'http://10.0.0.7:80 3x', KEYS.backspace, KEYS.backspace, '5', KEYS.enter);
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['default', { url: 'http://10.0.0.7:80', weight: 5 }, 'dashboard']);
});

test('letters that are keys elsewhere (q, d, s, x) are text in the input', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a', 'h', 't', 't', 'p', ':', '/', '/', 'q', 'd', 's', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e');
  await ui.waitFor(/: http:\/\/qdsx\.example/);
  t.is(ui.control.calls.length, 0);
});

const urlProblem = (url: string): string => {
  const problem = backendUrlProblem(url)!;
  return `✗ ${problem.message}: ${problem.hint}`;
};

const BAD: ReadonlyArray<readonly [string, RegExp | string]> = [
  ['127.0.0.1:9004', urlProblem('127.0.0.1:9004')],
  ['ftp://example.com', urlProblem('ftp://example.com')],
  ['http://user:secret@example.com', urlProblem('http://user:secret@example.com')],
  ['http://127.0.0.1:9004 0', /weight must be a whole number from 1 to 1000, got "0"/],
  ['http://127.0.0.1:9004 two', /weight must be a whole number/],
  ['', /type a backend URL/],
];

for (const [input, error] of BAD) {
  test(`"${input}" shows an inline error and does not call addBackend`, async (t) => {
    const ui = await renderDashboard(three());
    await ui.press('a', ...(input === '' ? [] : [input]), KEYS.enter);
    // A long error wraps onto more lines: compare without the line breaks.
    // The error wraps between words, so compare with every run of whitespace as one space.
    const flat = (text: string): string => text.replace(/\s+/g, ' ');
    await ui.waitFor((f) => (typeof error === 'string' ? flat(f).includes(flat(error)) : error.test(f)), String(error));
    t.regex(ui.frame(), /add backend \(URL \[weight\]\):/, 'the input stays open to fix the text');
    t.is(ui.control.calls.length, 0);
  });
}

test('an error from the control (duplicate) is shown in the input', async (t) => {
  const ui = await renderDashboard(three());
  ui.control.failWith('addBackend', new VeloError('E_CONFLICT', 'http://127.0.0.1:9001 is already in pool "default"'));
  await ui.press('a', 'http://127.0.0.1:9001', KEYS.enter);
  await ui.waitFor(/✗ http:\/\/127\.0\.0\.1:9001 is already in pool "default"/);
  t.regex(ui.frame(), /add backend \(URL \[weight\]\): http:\/\/127\.0\.0\.1:9001/);
});

test('Esc cancels the input without calling the control', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a', 'http://127.0.0.1:9004');
  await ui.waitFor(/127\.0\.0\.1:9004/);
  await ui.press(KEYS.escape);
  await ui.waitFor((f) => !f.includes('add backend ('), 'input closed');
  await ui.press('d');
  await ui.waitForCalls(1);
  t.deepEqual(ui.control.calls.map((c) => c.method), ['drain'], 'keys act on the table again, nothing was added');
});

test('a URL and Enter in one read (a paste, or tmux send-keys) still submit', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a');
  await ui.press('http://127.0.0.1:9005\r');
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['default', { url: 'http://127.0.0.1:9005', weight: undefined }, 'dashboard']);
});
