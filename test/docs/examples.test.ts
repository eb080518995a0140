/** Every YAML example in the docs must be a valid velo config (with a backend added). */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';

for (const [doc, least] of [['docs/resilience.md', 5], ['docs/tls.md', 3], ['docs/observability.md', 2], ['docs/discovery.md', 1], ['docs/protocols.md', 2], ['docs/rewriting.md', 4]] as const) {
  const text = readFileSync(fileURLToPath(new URL(`../../${doc}`, import.meta.url)), 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  test(`${doc} has YAML examples`, (t) => {
    t.true(blocks.length >= least);
  });
  blocks.forEach((block, i) => {
    test(`${doc} example ${i + 1} is a valid config`, (t) => {
      // A block that lists its own backends (or pools) is taken as written.
      const text = /^(backends|pools):/m.test(block) ? block : `${block}\nbackends: [http://127.0.0.1:8081]\n`;
      t.notThrows(() => parseConfigText(text, doc));
    });
  });
}
