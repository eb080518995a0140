/** The dashboard's log source: bounded, published per tick, access log captured only while live. */
import test from 'ava';
import type { RequestObserver, RequestRecord } from '../../src/engine/request-record.js';
import { LogRing } from '../../src/cli/log-ring.js';
import { parseRecordFilter } from '../../src/metrics/record-filter.js';

function record(i: number, overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: `r${i}`,
    at: 1_700_000_000_000 + i,
    clientIp: '10.1.2.3',
    method: 'GET',
    path: `/items/${i}`,
    host: 'example.test',
    status: 200,
    pool: 'default',
    backend: 'http://127.0.0.1:9001',
    backendName: 'b1',
    attempts: 1,
    upstreamMs: 3,
    totalMs: 3.25,
    bytesIn: 0,
    bytesOut: 10,
    termination: '-',
    ...overrides,
  };
}

test('the access-log observer is attached only while live, once', (t) => {
  const observers: RequestObserver[] = [];
  const ring = new LogRing(observers);
  t.is(observers.length, 0);
  ring.setLive(true);
  ring.setLive(true);
  t.is(observers.length, 1);
  ring.setLive(false);
  t.is(observers.length, 0);
});

test('records become lines with the backend name at publish, not before; subscribers hear once per publish with news', (t) => {
  const observers: RequestObserver[] = [];
  const ring = new LogRing(observers);
  let heard = 0;
  ring.subscribe(() => heard++);
  ring.setLive(true);
  observers[0]!(record(1));
  observers[0]!(record(2, { status: 502, backend: 'http://127.0.0.1:9002', backendName: '127.0.0.1:9002', termination: 'UF' }));
  observers[0]!(record(3, { status: 429, backend: undefined, backendName: undefined, termination: 'RL' }));
  t.deepEqual(ring.getSnapshot(), [], 'nothing until the tick');
  ring.publish();
  ring.publish();
  t.is(heard, 1);
  t.deepEqual(
    ring.getSnapshot().map((e) => [e.level, e.text]),
    [
      ['info', 'GET /items/1 200 b1 3.3ms 10.1.2.3'],
      ['error', 'GET /items/2 502 127.0.0.1:9002 3.3ms UF 10.1.2.3'],
      ['warn', 'GET /items/3 429 - 3.3ms RL 10.1.2.3'],
    ],
  );
});

test('keeps the newest entries up to its capacity, oldest first', (t) => {
  const observers: RequestObserver[] = [];
  const ring = new LogRing(observers, 5);
  ring.setLive(true);
  for (let i = 0; i < 12; i++) observers[0]!(record(i));
  ring.publish();
  t.deepEqual(ring.getSnapshot().map((e) => e.text.split(' ')[1]), ['/items/7', '/items/8', '/items/9', '/items/10', '/items/11']);
});

test('log lines from the logger sink are shown as message and fields', (t) => {
  const ring = new LogRing([]);
  ring.sink(JSON.stringify({ time: '2026-01-02T03:04:05.000Z', level: 'warn', msg: 'health transition', name: 'b2', to: 'unhealthy' }), 'warn');
  ring.sink('not json', 'error');
  ring.publish();
  t.deepEqual(
    ring.getSnapshot().map((e) => [e.kind, e.level, e.text, e.at]),
    [
      ['log', 'warn', 'health transition name=b2 to=unhealthy', Date.parse('2026-01-02T03:04:05.000Z')],
      ['log', 'error', 'not json', ring.getSnapshot()[1]!.at],
    ],
  );
});

test('an access entry carries the fields a filter looks at, and nothing the pane does not need', (t) => {
  const observers: RequestObserver[] = [];
  const ring = new LogRing(observers);
  ring.setLive(true);
  observers[0]!(record(1, { status: 502, termination: 'UF', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', userAgent: 'curl/8' }));
  ring.sink(JSON.stringify({ level: 'info', msg: 'reloaded' }), 'info');
  ring.publish();
  const [access, log] = ring.getSnapshot();
  t.deepEqual(access!.record, { status: 502, backend: 'http://127.0.0.1:9001', backendName: 'b1', pool: 'default', method: 'GET', path: '/items/1', termination: 'UF', totalMs: 3.25, clientIp: '10.1.2.3' });
  t.is(log!.record, undefined, 'velo\'s own lines have no request');
});

test('with a filter the ring keeps only matching requests (and velo\'s own lines), so its capacity holds matches', (t) => {
  const observers: RequestObserver[] = [];
  const ring = new LogRing(observers, 3);
  ring.setLive(true);
  const parsed = parseRecordFilter('status:5xx');
  if (!parsed.ok) throw new Error(parsed.error);
  ring.setFilter(parsed.filter);
  for (let i = 0; i < 20; i++) observers[0]!(record(i, { status: i % 10 === 0 ? 503 : 200 }));
  ring.sink(JSON.stringify({ level: 'warn', msg: 'b1 is now unhealthy' }), 'warn');
  ring.publish();
  t.deepEqual(ring.getSnapshot().map((e) => (e.kind === 'access' ? e.text.split(' ').slice(0, 3).join(' ') : e.text)), ['GET /items/0 503', 'GET /items/10 503', 'b1 is now unhealthy']);
  ring.setFilter(undefined);
  observers[0]!(record(21));
  ring.publish();
  t.is(ring.getSnapshot().at(-1)!.text.split(' ')[1], '/items/21', 'cleared: every request again');
});
