/** `strip_prefix` / `add_prefix` (issue 14, part 3): the path a backend is sent. */
import test from 'ava';
import { backendPath, joinBasePath, rewritePath } from '../../src/engine/rewrite-path.js';

const CASES: Array<[string, { stripPrefix?: string; addPrefix?: string }, string]> = [
  ['/api/users?x=1', { stripPrefix: '/api' }, '/users?x=1'],
  ['/api', { stripPrefix: '/api' }, '/'],
  ['/api?x', { stripPrefix: '/api' }, '/?x'],
  ['/api/', { stripPrefix: '/api' }, '/'],
  ['/apiv2/users', { stripPrefix: '/api' }, '/apiv2/users'],
  ['/other', { stripPrefix: '/api' }, '/other'],
  ['/users?x', { addPrefix: '/v2' }, '/v2/users?x'],
  ['/', { addPrefix: '/v2' }, '/v2/'],
  ['/api/users', { stripPrefix: '/api', addPrefix: '/internal/v2' }, '/internal/v2/users'],
  ['/api/a%2Fb?q=%20', { stripPrefix: '/api' }, '/a%2Fb?q=%20'],
  ['/x', {}, '/x'],
];

for (const [path, rewrite, expected] of CASES) {
  test(`${path} with ${JSON.stringify(rewrite)} is sent as ${expected}`, (t) => {
    t.is(rewritePath(path, rewrite), expected);
  });
}

const JOINS: Array<[string, string, string]> = [
  ['/app', '/users?x=1', '/app/users?x=1'],
  ['/app', '/', '/app/'],
  ['/app', '/?x', '/app/?x'],
  ['/app/v2', '/a%2Fb?q=%20&r', '/app/v2/a%2Fb?q=%20&r'],
  ['', '/users', '/users'],
  ['/app', '//x', '/app//x'],
];

for (const [base, path, expected] of JOINS) {
  test(`${path} under base path ${JSON.stringify(base)} is ${expected}`, (t) => {
    t.is(joinBasePath(base, path), expected);
  });
}

test('backendPath applies the pool rewrite first, then the backend base path', (t) => {
  t.is(backendPath('/api/users?id=7', { stripPrefix: '/api', addPrefix: '/v2' }, '/app'), '/app/v2/users?id=7');
  t.is(backendPath('/api', { stripPrefix: '/api' }, '/app'), '/app/');
  t.is(backendPath('/x?y', undefined, '/app'), '/app/x?y');
  t.is(backendPath('/x?y', undefined, ''), '/x?y');
});
