/** `strip_prefix` / `add_prefix` (issue 14, part 3): the path a backend is sent. */
import test from 'ava';
import { rewritePath } from '../../src/engine/rewrite-path.js';

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
