/** The last-writer-wins rule per field that every instance applies on (re)connect (resync-rule.ts). */
import test from 'ava';
import type { RuntimeChange } from '../../../src/engine/control.js';
import { changeField, isNewer, parseChangeEntry, resyncPlan, type ChangeEntry } from '../../../src/cluster/redis/resync-rule.js';

const B = 'http://10.0.0.1:80';
const entry = (change: RuntimeChange, at: number, instance = 'a'): ChangeEntry => ({ field: changeField(change), change, at, instance });
const drain = (on: boolean, at: number, instance = 'a') => entry({ op: 'drain', pool: 'web', backend: B, on }, at, instance);
const weight = (w: number, at: number, instance = 'a') => entry({ op: 'weight', pool: 'web', backend: B, weight: w }, at, instance);
const fields = (list: ChangeEntry[]) => list.map((e) => `${e.field}@${e.at}/${e.instance}`);

test('fields: add and remove share `listed`; drain, maintenance and weight are per backend; strategy per pool', (t) => {
  t.is(changeField({ op: 'add', pool: 'web', url: B, weight: 1 }), `web|${B}|listed`);
  t.is(changeField({ op: 'remove', pool: 'web', backend: B }), `web|${B}|listed`);
  t.is(changeField({ op: 'maintenance', pool: 'web', backend: B, on: true }), `web|${B}|maintenance`);
  t.is(changeField({ op: 'weight', pool: 'web', backend: B, weight: 3 }), `web|${B}|weight`);
  t.is(changeField({ op: 'strategy', pool: 'web', strategy: 'random' }), 'web||strategy');
});

test('newer: the later stamp wins; equal stamps go to the greater instance name; an entry never beats itself', (t) => {
  t.true(isNewer({ at: 2, instance: 'a' }, { at: 1, instance: 'z' }));
  t.false(isNewer({ at: 1, instance: 'z' }, { at: 2, instance: 'a' }));
  t.true(isNewer({ at: 5, instance: 'b' }, { at: 5, instance: 'a' }));
  t.false(isNewer({ at: 5, instance: 'a' }, { at: 5, instance: 'b' }));
  t.false(isNewer({ at: 5, instance: 'a' }, { at: 5, instance: 'a' }));
  t.true(isNewer({ at: 0, instance: 'a' }, undefined));
});

const cases: Array<{ name: string; stored: ChangeEntry[]; applied: ChangeEntry[]; pending: ChangeEntry[]; apply: string[]; push: string[]; dropped: string[] }> = [
  {
    name: 'a fresh instance applies everything stored, oldest first (the add before its weight)',
    stored: [weight(5, 20, 'b'), entry({ op: 'add', pool: 'web', url: B, weight: 1 }, 10, 'b')],
    applied: [],
    pending: [],
    apply: [`web|${B}|listed@10/b`, `web|${B}|weight@20/b`],
    push: [],
    dropped: [],
  },
  {
    name: 'what it already applied (or made) is not applied again',
    stored: [drain(true, 10, 'b'), weight(5, 20, 'a')],
    applied: [drain(true, 10, 'b'), weight(5, 20, 'a')],
    pending: [],
    apply: [],
    push: [],
    dropped: [],
  },
  {
    name: 'a change made offline later than the stored one is pushed, and the stored one is not applied',
    stored: [drain(true, 10, 'b')],
    applied: [drain(false, 30, 'a')],
    pending: [drain(false, 30, 'a')],
    apply: [],
    push: [`web|${B}|drain@30/a`],
    dropped: [],
  },
  {
    name: 'a change made offline earlier than one stored meanwhile loses: the stored one is applied, the own one dropped',
    stored: [drain(true, 40, 'b')],
    applied: [drain(false, 30, 'a')],
    pending: [drain(false, 30, 'a')],
    apply: [`web|${B}|drain@40/b`],
    push: [],
    dropped: [`web|${B}|drain@30/a`],
  },
  {
    name: 'different fields do not interfere: apply one, push the other',
    stored: [drain(true, 40, 'b')],
    applied: [weight(7, 30, 'a')],
    pending: [weight(7, 30, 'a')],
    apply: [`web|${B}|drain@40/b`],
    push: [`web|${B}|weight@30/a`],
    dropped: [],
  },
  {
    name: 'a field stored twice (a hand edit) counts once, the newer',
    stored: [drain(true, 10, 'b'), drain(false, 20, 'c')],
    applied: [],
    pending: [],
    apply: [`web|${B}|drain@20/c`],
    push: [],
    dropped: [],
  },
];

for (const c of cases) {
  test(`resync: ${c.name}`, (t) => {
    const plan = resyncPlan(c.stored, new Map(c.applied.map((e) => [e.field, e])), new Map(c.pending.map((e) => [e.field, e])));
    t.deepEqual({ apply: fields(plan.apply), push: fields(plan.push), dropped: fields(plan.dropped) }, { apply: c.apply, push: c.push, dropped: c.dropped });
  });
}

test('parseChangeEntry keeps well-formed entries and refuses junk and entries filed under the wrong field', (t) => {
  const good = drain(true, 10, 'b');
  t.deepEqual(parseChangeEntry(JSON.stringify(good)), good);
  t.is(parseChangeEntry('not json'), undefined);
  t.is(parseChangeEntry(JSON.stringify({ ...good, at: 'soon' })), undefined);
  t.is(parseChangeEntry(JSON.stringify({ ...good, change: { op: 'explode', pool: 'web' } })), undefined);
  t.is(parseChangeEntry(JSON.stringify({ ...good, field: 'web|x|drain' })), undefined);
});
