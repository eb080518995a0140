/** `request_headers` / `response_headers` (issue 14 part 3): remove, then set, then add, with variables. */
import test from 'ava';
import { applyHeaderRules, expandTemplate } from '../../src/engine/header-rules.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const VARS = { clientIp: '203.0.113.9', requestId: 'r-1', backend: 'web-2', host: 'shop.example' };

test('remove drops every field of a name, set replaces, add appends; variables are filled in', (t) => {
  const out = applyHeaderRules(['Server', 'nginx', 'x-env', 'dev', 'X-Env', 'old', 'via', '1.1 a'], {
    remove: ['server'],
    set: [['x-env', 'prod for {client_ip}']],
    add: [['via', 'velo {backend} {request_id} {host}']],
  }, VARS);
  t.deepEqual(out, ['via', '1.1 a', 'x-env', 'prod for 203.0.113.9', 'via', 'velo web-2 r-1 shop.example']);
});

test('a variable cannot smuggle a line break into a field', (t) => {
  t.is(expandTemplate('h={host}', { ...VARS, host: 'a\r\nX-Evil: 1' }), 'h=a  X-Evil: 1');
});

test('bad rules are config errors with their place: protected names, unknown variables, bad names, no value', (t) => {
  const yaml = `backends: [http://127.0.0.1:1]
request_headers:
  set: { Content-Length: "5", X-A: "{nope}", "bad name": x, X-B: }
  remove: [Connection]
response_headers: { add: { X-Ok: "{backend}" } }
`;
  const err = t.throws(() => parseConfigText(yaml, 'v.yaml'), { instanceOf: ConfigError }) as ConfigError;
  t.deepEqual(err.issues.map((i) => `${i.path}@${i.line}: ${i.message}`), [
    'request_headers.set.Content-Length@3: Content-Length cannot be rewritten',
    'request_headers.set.X-A@3: unknown variable {nope}',
    'request_headers.set.bad name@3: "bad name" is not a header name',
    'request_headers.set.X-B@3: a header value is required',
    'request_headers.remove[0]@4: Connection cannot be rewritten',
  ]);
  const ok = parseConfigText('backends: [http://127.0.0.1:1]\nresponse_headers: { add: { X-Ok: "{backend}" }, remove: [Server] }\n');
  t.deepEqual(ok.pools[0]!.responseHeaders, { remove: ['server'], set: [], add: [['x-ok', '{backend}']] });
});
