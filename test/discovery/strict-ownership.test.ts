/**
 * DNS strict mode: a backend named by host is its addresses, which only the DNS provider puts
 * in the table; the pool, a reload and a runtime add all leave the name itself out.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { Control } from '../../src/engine/control.js';
import { Engine } from '../../src/engine/engine.js';
import { VeloError } from '../../src/errors.js';
import { Logger } from '../../src/log/logger.js';

const STRICT = 'health_check: false\nbackends: [http://api.internal:8080, http://10.0.0.9]\ndns: { mode: strict }\n';
const SINGLE = 'health_check: false\nbackends: [http://api.internal:8080, http://10.0.0.9]\ndns: { mode: single }\n';

test('strict: the pool and reloads keep the named entry out of the table; single keeps it in; switching modes by reload follows', async (t) => {
  let yaml = STRICT;
  const engine = new Engine({ config: parseConfigText(yaml, undefined), sampleEveryMs: 0, logger: new Logger('silent'), clock: () => 0 });
  const control = new Control(engine, async () => parseConfigText(yaml, undefined));
  const ids = () => engine.pools[0]!.upstreams.map((u) => u.id);
  t.deepEqual(ids(), ['http://10.0.0.9']);
  await control.reload('api');
  t.deepEqual(ids(), ['http://10.0.0.9']);
  yaml = SINGLE;
  await control.reload('api');
  t.deepEqual(ids(), ['http://10.0.0.9', 'http://api.internal:8080']);
  const named = engine.pools[0]!.find('http://api.internal:8080')!;
  yaml = STRICT;
  await control.reload('api');
  t.deepEqual(ids(), ['http://10.0.0.9']);
  t.true(named.draining && named.removed, 'the named backend is drained, then forgotten');
});

test('strict: adding a host name at runtime is refused with the way out; an address is accepted', (t) => {
  const engine = new Engine({ config: parseConfigText(STRICT, undefined), sampleEveryMs: 0, logger: new Logger('silent'), clock: () => 0 });
  const control = new Control(engine);
  const err = t.throws(() => control.addBackend('default', { url: 'http://other.internal:8080' }), { instanceOf: VeloError });
  t.is(err?.code, 'E_BAD_REQUEST');
  t.regex(err!.message, /DNS strict mode: add an address such as http:\/\/10\.0\.0\.7:8080, or the name in the config file/);
  t.is(control.addBackend('default', { url: 'http://10.0.0.8:8080' }).source, 'runtime');
});
