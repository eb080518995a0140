/**
 * The pool key `protocol:` (h1, h2, h2c) and the `grpc` health check type: defaults, what each
 * protocol needs of its backends' URLs, and every bad value with its path, line and column.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigText } from '../../src/config/schema.js';
import { protocolSchemeProblem } from '../../src/config/schema-protocol.js';

test('protocol defaults to h1; h2 takes https backends, h2c http ones, in the short form and per pool', (t) => {
  t.is(parseConfigText('backends: [http://127.0.0.1:8081]\n').pools[0]!.protocol, 'h1');
  t.is(parseConfigText('protocol: h2\nbackends: [https://api.internal]\n').pools[0]!.protocol, 'h2');
  const pools = parseConfigText('pools:\n  - name: grpc\n    protocol: h2c\n    backends: [http://127.0.0.1:50051]\n  - name: web\n    match: { path_prefix: /web }\n    backends: [http://127.0.0.1:8081]\n').pools;
  t.deepEqual(pools.map((p) => p.protocol), ['h2c', 'h1']);
});

test('health_check type grpc with an optional service name', (t) => {
  const whole = parseConfigText('protocol: h2c\nbackends: [http://127.0.0.1:50051]\nhealth_check: { type: grpc }\n').pools[0]!.healthCheck;
  t.is(whole.type, 'grpc');
  t.is(whole.service, undefined);
  const named = parseConfigText('backends: [http://127.0.0.1:50051]\nhealth_check: { type: grpc, service: helloworld.Greeter }\n').pools[0]!.healthCheck;
  t.is(named.service, 'helloworld.Greeter');
});

test('protocolSchemeProblem: h1 takes both schemes, h2 only https, h2c only http', (t) => {
  t.is(protocolSchemeProblem('h1', 'http://a'), undefined);
  t.is(protocolSchemeProblem('h1', 'https://a'), undefined);
  t.is(protocolSchemeProblem('h2', 'https://a'), undefined);
  t.regex(protocolSchemeProblem('h2', 'http://a')!.hint, /h2c/);
  t.is(protocolSchemeProblem('h2c', 'http://a'), undefined);
  t.regex(protocolSchemeProblem('h2c', 'https://a')!.hint, /protocol: h2/);
});

const BAD: Array<[string, string, number, number, RegExp]> = [
  ['protocol: http2\nbackends: [http://127.0.0.1:1]\n', 'protocol', 1, 11, /h1, h2, h2c/],
  ['protocol: H2C\nbackends: [http://127.0.0.1:1]\n', 'protocol', 1, 11, /did you mean "h2c"/],
  ['backends: [http://127.0.0.1:1, https://127.0.0.1:2]\nprotocol: h2\n', 'protocol', 2, 11, /http:\/\/127\.0\.0\.1:1 is cleartext.*protocol: h2c/],
  ['protocol: h2c\nbackends: [https://api.internal]\n', 'protocol', 1, 11, /https.*protocol: h2 for HTTP\/2 over TLS/],
  ['pools:\n  - name: a\n    protocol: h3\n    backends: [http://127.0.0.1:1]\n', 'pools[0].protocol', 3, 15, /h1, h2, h2c/],
  ['backends: [http://127.0.0.1:1]\nhealth_check: { type: grpx }\n', 'health_check.type', 2, 23, /http, tcp, grpc.*did you mean "grpc"/],
  ['backends: [http://127.0.0.1:1]\nhealth_check: { service: a.B }\n', 'health_check.service', 2, 26, /service applies to type: grpc, not http.*set type: grpc/],
  ['backends: [http://127.0.0.1:1]\nhealth_check: { type: grpc, service: "" }\n', 'health_check.service', 2, 38, /gRPC service name/],
];

for (const [text, path, line, column, hint] of BAD) {
  test(`rejects ${JSON.stringify(text)} at ${path} ${line}:${column}`, (t) => {
    const issues = validateConfigText(text, 'velo.config.yaml').issues;
    t.is(issues.length, 1, JSON.stringify(issues));
    t.like(issues[0], { path, line, column });
    t.regex(`${issues[0]!.message} ${issues[0]!.hint ?? ''}`, hint);
  });
}
