import test from 'ava';
import { errorLines, MAX_ERROR_LINES } from '../../components/AddBackendInput.js';

test('inline errors wrap between words, never inside one', (t) => {
  const text = '✗ "ftp://nope" uses ftp://, not http:// or https://: expected http://host:port or https://host:port, e.g. http://127.0.0.1:8081';
  const lines = errorLines(text, 40);
  t.true(lines.every((l) => l.length <= 40));
  t.deepEqual(lines.join(' ').split(' '), text.split(' ').slice(0, lines.join(' ').split(' ').length), 'words stay whole and in order');
  t.is(lines[0], '✗ "ftp://nope" uses ftp://, not http://');
});

test('a word wider than the line is cut, and at most MAX_ERROR_LINES lines are kept', (t) => {
  t.deepEqual(errorLines('abcdefghij xy', 4), ['abcd', 'efgh', 'ij'].slice(0, MAX_ERROR_LINES));
  t.deepEqual(errorLines('ab cd', 10), ['ab cd']);
});
