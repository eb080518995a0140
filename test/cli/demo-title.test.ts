import test from 'ava';
import { demoTitle } from '../../src/cli/demo.js';

test('the demo title is right for any --backends N', (t) => {
  t.deepEqual(demoTitle(1, 20, 8080), ['velo demo: 20 req/s of test traffic over 1 local backend', 'try: ? keys · d = drain b1 · s = strategy · a = add · curl localhost:8080']);
  t.is(demoTitle(2, 20, 8080)[0], 'velo demo: 20 req/s of test traffic over 2 local backends');
  t.is(demoTitle(3, 20, 8080)[0], 'velo demo: 20 req/s of test traffic over 3 local backends (b3: slow, flaky)');
  t.is(demoTitle(6, 0, 8080)[0], 'velo demo: no test traffic over 6 local backends (b3, b6: slow, flaky)');
  t.is(demoTitle(50, 20, 8080)[0], 'velo demo: 20 req/s of test traffic over 50 local backends (b3, b6 ... b48: slow, flaky)');
  t.regex(demoTitle(2, 20, 9000)[1]!, /j d = drain b2 .*curl localhost:9000$/);
});
