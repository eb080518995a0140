import test from 'ava';
import { normalizeRequestPath } from '../../src/resilience/request-path.js';

const CASES: Array<[string, string]> = [
  ['/', '/'],
  ['/login', '/login'],
  ['/login/', '/login/'],
  ['/login?next=/admin', '/login'],
  ['/login#top', '/login'],
  ['/LOGIN', '/login'],
  ['/%6Cogin', '/login'],
  ['/%6cogin%2Fx', '/login%2fx'],
  ['//login', '/login'],
  ['/a//b///c', '/a/b/c'],
  ['/a/../login', '/login'],
  ['/./login', '/login'],
  ['/%2e%2e/login', '/login'],
  ['/a/b/..', '/a/'],
  ['/..', '/'],
  ['/a/%20b', '/a/%20b'],
];

for (const [target, normalized] of CASES) {
  test(`${JSON.stringify(target)} is compared as ${JSON.stringify(normalized)}`, (t) => {
    t.is(normalizeRequestPath(target), normalized);
  });
}
