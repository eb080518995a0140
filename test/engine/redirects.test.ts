/** The pure parts of `redirects:`: the status by method, the client's scheme, the Location. */
import test from 'ava';
import { clientScheme, redirectFor, redirectStatus, splitAuthority, type RedirectConfig } from '../../src/engine/redirects.js';

test('GET and HEAD get 301; every other method 308 (RFC 9110 sections 15.4.2 and 15.4.9)', (t) => {
  t.deepEqual(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map(redirectStatus), [301, 301, 308, 308, 308, 308, 308]);
});

test('the client scheme is the listener\'s, or https when a trusted proxy says so in its first X-Forwarded-Proto', (t) => {
  t.is(clientScheme('https', false, undefined), 'https');
  t.is(clientScheme('http', false, 'https'), 'http');
  t.is(clientScheme('http', true, undefined), 'http');
  t.is(clientScheme('http', true, 'https'), 'https');
  t.is(clientScheme('http', true, ' HTTPS , http'), 'https');
  t.is(clientScheme('http', true, 'http, https'), 'http');
  t.is(clientScheme('http', true, ['https', 'http']), 'https');
});

test('splitAuthority takes names, IPv4 and bracketed IPv6 with a port, and nothing with %-escapes or sub-delims', (t) => {
  t.deepEqual(splitAuthority('Example.COM:8080'), { host: 'example.com', port: '8080' });
  t.deepEqual(splitAuthority('[::1]:80'), { host: '[::1]', port: '80' });
  t.deepEqual(splitAuthority('10.0.0.1'), { host: '10.0.0.1', port: '' });
  for (const bad of ['ex%41mple.com', "a'b.com", 'a@b.com', 'a/b', 'a b', '']) t.is(splitAuthority(bad), undefined, bad);
});

const HTTPS: RedirectConfig = { https: true, httpsPort: 443, stripWww: false };
const CASES: Array<[string, RedirectConfig, { method?: string; host: string | undefined; path: string; scheme: 'http' | 'https' }, string | number | undefined]> = [
  ['plain http to https, query byte for byte', HTTPS, { host: 'shop.example', path: '/a/b?x=1&y=%20', scheme: 'http' }, 'https://shop.example/a/b?x=1&y=%20'],
  ['the plain port is dropped, 443 left out', HTTPS, { host: 'shop.example:8080', path: '/', scheme: 'http' }, 'https://shop.example/'],
  ['https_port other than 443 is written', { ...HTTPS, httpsPort: 8443 }, { host: 'shop.example:8080', path: '/x', scheme: 'http' }, 'https://shop.example:8443/x'],
  ['already https: nothing to do', HTTPS, { host: 'shop.example', path: '/x', scheme: 'https' }, undefined],
  ['IPv6 literal host', HTTPS, { host: '[::1]:8080', path: '/x', scheme: 'http' }, 'https://[::1]/x'],
  ['a path that looks like an authority stays a path', HTTPS, { host: 'shop.example', path: '//evil.example/x', scheme: 'http' }, 'https://shop.example//evil.example/x'],
  ['latin1 bytes of the request-target are kept', HTTPS, { host: 'a.example', path: '/caf\u00e9?q=\u00ff', scheme: 'http' }, 'https://a.example/caf\u00e9?q=\u00ff'],
  ['no Host to redirect to: 400', HTTPS, { host: undefined, path: '/x', scheme: 'http' }, 400],
  ['an empty Host: 400', HTTPS, { host: '', path: '/x', scheme: 'http' }, 400],
  ['a Host with %-escapes never reaches a Location: 400', HTTPS, { host: 'ex%41mple.com', path: '/x', scheme: 'http' }, 400],
  ['strip_www keeps the scheme and the port', { https: false, httpsPort: 443, stripWww: true }, { host: 'WWW.example.com:8080', path: '/p?q', scheme: 'http' }, 'http://example.com:8080/p?q'],
  ['strip_www with https', { https: true, httpsPort: 443, stripWww: true }, { host: 'www.example.com', path: '/p', scheme: 'http' }, 'https://example.com/p'],
  ['strip_www: the bare name stays', { https: false, httpsPort: 443, stripWww: true }, { host: 'example.com', path: '/p', scheme: 'http' }, undefined],
  ['strip_www: "www." alone stays', { https: false, httpsPort: 443, stripWww: true }, { host: 'www.', path: '/p', scheme: 'http' }, undefined],
  ['canonical_host: any other host moves, https kept', { https: false, httpsPort: 443, stripWww: false, canonicalHost: 'example.com' }, { host: 'example.org:8443', path: '/p', scheme: 'https' }, 'https://example.com:8443/p'],
  ['canonical_host: the same name in other case stays', { https: false, httpsPort: 443, stripWww: false, canonicalHost: 'example.com' }, { host: 'EXAMPLE.com', path: '/p', scheme: 'http' }, undefined],
  ['canonical_host: no Host at all moves to it', { https: false, httpsPort: 443, stripWww: false, canonicalHost: 'example.com' }, { host: undefined, path: '/p', scheme: 'http' }, 'http://example.com/p'],
  ['canonical_host and https together', { https: true, httpsPort: 443, stripWww: false, canonicalHost: 'example.com' }, { host: 'www.example.com:80', path: '/p', scheme: 'http' }, 'https://example.com/p'],
  ['POST gets the same Location', HTTPS, { method: 'POST', host: 'shop.example', path: '/form', scheme: 'http' }, 'https://shop.example/form'],
];

for (const [what, config, req, expected] of CASES) {
  test(`redirect: ${what}`, (t) => {
    const answer = redirectFor(config, req.method ?? 'GET', req.host, req.path, req.scheme);
    if (expected === undefined) return t.is(answer, undefined);
    if (typeof expected === 'number') return t.is(answer?.status, expected);
    t.is(answer?.location, expected);
    t.is(answer?.status, req.method === 'POST' ? 308 : 301);
  });
}
