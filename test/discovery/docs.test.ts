/** Every YAML example of docs/discovery.md's DNS section is a valid velo config as written (copy-paste). */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';

const text = readFileSync(fileURLToPath(new URL('../../docs/discovery.md', import.meta.url)), 'utf8');
const start = text.indexOf('\n## DNS\n');
const end = text.indexOf('\n## ', start + 1);
const section = text.slice(start, end < 0 ? undefined : end);
const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('docs/discovery.md has a DNS section with YAML examples', (t) => {
  t.true(start >= 0);
  t.true(blocks.length >= 5);
});

blocks.forEach((block, i) => {
  test(`docs/discovery.md DNS example ${i + 1} is a valid config that uses DNS`, (t) => {
    const config = parseConfigText(block, 'docs/discovery.md');
    t.truthy(config.pools[0]!.dns);
  });
});
