/**
 * Discovery providers (DNS, Docker) hand Control a desired set per pool; one reconciler adds,
 * updates and drains-then-forgets only that source's backends (issue 12: "a source never
 * edits a pool directly"), a reload leaves them alone, and removing one by hand is refused.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { Control } from '../../src/engine/control.js';
import { Engine } from '../../src/engine/engine.js';
import { VeloError } from '../../src/errors.js';
import { Logger } from '../../src/log/logger.js';

const YAML = 'health_check: false\nbackends: [http://127.0.0.1:1]\n';

function setup() {
  const config = parseConfigText(YAML, undefined);
  const engine = new Engine({ config, sampleEveryMs: 0, logger: new Logger('silent'), clock: () => 0 });
  return { engine, control: new Control(engine, async () => parseConfigText(YAML, undefined)), config };
}

const ids = (engine: Engine) => engine.pools[0]!.upstreams.map((u) => `${u.id}:${u.source}:${u.weight}${u.maintenance ? ':maint' : ''}`);

test('a source\'s desired set is added, updated and drained-then-forgotten; other sources are untouched', (t) => {
  const { engine, control } = setup();
  let r = control.reconcileSource('default', 'docker', [
    { url: 'http://127.0.0.1:2', weight: 1, name: 'web-1' },
    { url: 'http://127.0.0.1:3', weight: 2, name: 'web-2' },
  ]);
  t.is(r.added.length, 2);
  t.deepEqual(ids(engine), ['http://127.0.0.1:1:config:1', 'http://127.0.0.1:2:docker:1', 'http://127.0.0.1:3:docker:2']);
  const gone = engine.pools[0]!.find('http://127.0.0.1:2')!;
  r = control.reconcileSource('default', 'docker', [{ url: 'http://127.0.0.1:3', weight: 5, maintenance: true }]);
  t.deepEqual([r.added.length, r.removed.length, r.updated.length], [0, 1, 1]);
  t.true(gone.removed && gone.draining, 'the one gone is drained and detached (in-flight requests finish)');
  t.deepEqual(ids(engine), ['http://127.0.0.1:1:config:1', 'http://127.0.0.1:3:docker:5:maint']);
  // The same set again changes nothing and says nothing.
  const events = engine.events.recent().length;
  r = control.reconcileSource('default', 'docker', [{ url: 'http://127.0.0.1:3', weight: 5, maintenance: true }]);
  t.deepEqual([r.added.length, r.removed.length, r.updated.length], [0, 0, 0]);
  t.is(engine.events.recent().length, events);
  // A URL the config already lists stays the config's.
  control.reconcileSource('default', 'dns', [{ url: 'http://127.0.0.1:1', weight: 9 }]);
  t.deepEqual(ids(engine), ['http://127.0.0.1:1:config:1', 'http://127.0.0.1:3:docker:5:maint']);
});

test('a reload keeps discovered backends; removing one by hand is refused with the reason', async (t) => {
  const { engine, control } = setup();
  control.reconcileSource('default', 'docker', [{ url: 'http://127.0.0.1:2', weight: 1, name: 'web-1' }]);
  await control.reload('api');
  t.deepEqual(ids(engine), ['http://127.0.0.1:1:config:1', 'http://127.0.0.1:2:docker:1']);
  const err = t.throws(() => control.removeBackend('default', 'web-1'), { instanceOf: VeloError });
  t.is(err?.code, 'E_CONFLICT');
  t.regex(err!.message, /comes from docker discovery and would come back/);
  t.notThrows(() => control.drain('default', 'web-1'));
  engine.sampler.tick();
  t.deepEqual(engine.snapshot.pools[0]!.backends.map((b) => b.source), ['config', 'docker']);
  t.is(control.addBackend('default', { url: 'http://127.0.0.1:4' }).source, 'runtime');
});
