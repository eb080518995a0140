/**
 * W3C Trace Context parsing (strict version 00, the versioning rule for later versions) and the
 * ids velo makes, with an injected random source so every id is known.
 */
import test from 'ava';
import fc from 'fast-check';
import { NEW_TRACE_FLAGS, TraceIds, formatTraceparent, parseTraceparent, type FillRandom } from '../../src/engine/trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

/** Fills buffers with 0x01, 0x02, ... so ids are predictable. */
function counting(): FillRandom {
  let n = 0;
  return (buf) => {
    for (let i = 0; i < buf.length; i++) buf[i] = (n++ % 255) + 1;
  };
}

test('a valid version 00 traceparent is read field by field', (t) => {
  t.deepEqual(parseTraceparent(VALID), { version: '00', traceId: TRACE, parentId: SPAN, flags: '01' });
  t.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.flags, '00');
  t.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-ff`)?.flags, 'ff', 'unknown flags are read (and passed on)');
});

const INVALID: Array<[string, string | string[] | undefined]> = [
  ['absent', undefined],
  ['empty', ''],
  ['upper-case hex', VALID.toUpperCase()],
  ['all-zero trace-id', `00-${'0'.repeat(32)}-${SPAN}-01`],
  ['all-zero parent-id', `00-${TRACE}-${'0'.repeat(16)}-01`],
  ['version ff', `ff-${TRACE}-${SPAN}-01`],
  ['version 00 with more after the flags', `${VALID}-extra`],
  ['a short trace-id', `00-${TRACE.slice(1)}-${SPAN}-01`],
  ['a long parent-id', `00-${TRACE}-${SPAN}0-01`],
  ['one-digit flags', `00-${TRACE}-${SPAN}-1`],
  ['a non-hex character', `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
  ['underscores for dashes', VALID.replaceAll('-', '_')],
  ['two headers joined by Node', `${VALID}, 00-${TRACE}-${SPAN}-00`],
  ['a later version joined with another', `01-${TRACE}-${SPAN}-01, x`],
  ['a later version shorter than 55 characters', `01-${TRACE}-${SPAN}-0`],
  ['an array (repeated header)', [VALID, VALID]],
  ['surrounding spaces', ` ${VALID}`],
];

for (const [what, value] of INVALID) {
  test(`invalid traceparent: ${what}`, (t) => {
    t.is(parseTraceparent(value), undefined);
  });
}

test('a later version is read by its first four fields (W3C section 3.2.4)', (t) => {
  t.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-01`), { version: '01', traceId: TRACE, parentId: SPAN, flags: '01' });
  t.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-will-be`), { version: 'cc', traceId: TRACE, parentId: SPAN, flags: '01' });
});

test('ids come from the injected random bytes as lower-case hex; a span-id that would be all zero is skipped', (t) => {
  const ids = new TraceIds(counting());
  t.is(ids.traceId(), '0102030405060708090a0b0c0d0e0f10');
  t.is(ids.spanId(), '1112131415161718');
  const zeros = new TraceIds((buf) => {
    buf.fill(0);
    buf[15] = 7;
  });
  // Bytes 0-7 are zero (skipped as a span-id), bytes 8-15 end in 07.
  t.is(zeros.spanId(), '0000000000000007');
});

test('a request with a valid traceparent keeps its trace-id and flags; velo is the new parent', (t) => {
  const trace = new TraceIds(counting()).forRequest(`00-${TRACE}-${SPAN}-00`);
  t.deepEqual(trace, { traceId: TRACE, traceparent: `00-${TRACE}-0102030405060708-00`, continued: true });
});

test('a request without a valid traceparent starts a sampled trace', (t) => {
  for (const header of [undefined, 'garbage']) {
    const trace = new TraceIds(counting()).forRequest(header);
    t.deepEqual(trace, { traceId: '0102030405060708090a0b0c0d0e0f10', traceparent: `00-0102030405060708090a0b0c0d0e0f10-1112131415161718-${NEW_TRACE_FLAGS}`, continued: false });
  }
});

test('a later version is continued as version 00', (t) => {
  t.is(new TraceIds(counting()).forRequest(`02-${TRACE}-${SPAN}-01-more`).traceparent, `00-${TRACE}-0102030405060708-01`);
});

test('the pooled random bytes are refilled: thousands of ids are distinct and well formed', (t) => {
  const ids = new TraceIds();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = ids.traceId();
    t.regex(id, /^[0-9a-f]{32}$/);
    seen.add(id);
  }
  t.is(seen.size, 2000);
});

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

test('property: every valid version 00 header parses, and formatting its fields gives it back', (t) => {
  fc.assert(
    fc.property(hex(32), hex(16), hex(2), (traceId, parentId, flags) => {
      fc.pre(!/^0+$/.test(traceId) && !/^0+$/.test(parentId));
      const value = formatTraceparent(traceId, parentId, flags);
      const parsed = parseTraceparent(value);
      return parsed !== undefined && formatTraceparent(parsed.traceId, parsed.parentId, parsed.flags) === value;
    }),
  );
  t.pass();
});

test('property: parsing never throws, and whatever parses has the shapes of the spec', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.constantFrom(VALID).map((v) => v.slice(0, 30)), fc.string().map((s) => `00-${TRACE}-${SPAN}-${s}`)), (value) => {
      const p = parseTraceparent(value);
      return p === undefined || (/^[0-9a-f]{32}$/.test(p.traceId) && /^[0-9a-f]{16}$/.test(p.parentId) && /^[0-9a-f]{2}$/.test(p.flags) && p.version !== 'ff');
    }),
  );
  t.pass();
});
