/**
 * How every CLI helper (`health`, `servers`, `strategy`, `reload`, `make-request`, ...) finds the
 * velo it talks to: `--admin`/`--url`, else `$VELO_ADMIN`/`$VELO_URL`, else the same config
 * lookup as `velo start` (`-c`, `$VELO_CONFIG`, `./velo.config.yaml`, then `VELO_ADMIN_PORT`,
 * `VELO_PORT`, ... on top). Each address says where it came from, so a failure can too.
 */
import { describeOrigin, hostPort, lookupAddresses, reachableHost, type Setting } from '../config/addresses.js';
import { nonEmpty } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

/** An address to connect to and a phrase naming where it came from. */
export interface Target {
  url: URL;
  /** e.g. `admin 127.0.0.1:8407 from ./velo.config.yaml`, `admin 10.0.0.5:8407 from --admin`. */
  source: string;
  token?: string;
}

/** The lookup order, for `--help`. */
export const LOOKUP_HELP = `
Finding velo: --admin URL (--url URL for make-request), else $VELO_ADMIN ($VELO_URL), else the
config velo start would read: -c FILE, else $VELO_CONFIG, else ./velo.config.yaml, with
VELO_ADMIN_PORT, VELO_ADMIN_HOST, VELO_PORT and VELO_HOST on top; else the defaults
(admin 127.0.0.1:8407, listen :8080). The token is $VELO_ADMIN_TOKEN, else admin.token.`;

/** Parses an address; with `bareHost`, `host:port` without a scheme means http. Throws a usage `CliError`. */
export function parseHttpUrl(raw: string, source: string, example: string, bareHost = true): URL {
  const withScheme = !bareHost || /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`${source} must be an http URL like ${example}, got "${raw}"`, ExitCode.Usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${source} must be an http or https URL, got "${raw}"`, ExitCode.Usage);
  return url;
}

async function addresses(config: string | undefined, env: NodeJS.ProcessEnv) {
  try {
    return await lookupAddresses({ file: config, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`cannot find velo's address: ${err.message.split('\n').join(' ').replace(/\s+/g, ' ')}`, ExitCode.Usage);
    throw err;
  }
}

function origin(port: Setting<number>, host: Setting<string>, file: string | undefined): string {
  // The port is what usually differs between two velos; name the host's origin only when it alone was set.
  const main = port.from === 'default' && host.from !== 'default' ? host : port;
  if (main.from === 'file') return file!;
  return describeOrigin(main, file);
}

/** The admin API to call, and its token. */
export async function adminTarget(flags: { admin?: string; config?: string }, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const example = 'http://127.0.0.1:8407';
  const fromEnv = nonEmpty(env.VELO_ADMIN);
  const token = nonEmpty(env.VELO_ADMIN_TOKEN);
  const explicit = (url: URL, name: string): Target => ({ url, source: `admin ${url.host} from ${name}`, token });
  if (flags.admin !== undefined) return explicit(parseHttpUrl(flags.admin, '--admin', example), '--admin');
  if (fromEnv !== undefined) return explicit(parseHttpUrl(fromEnv, '$VELO_ADMIN', example), '$VELO_ADMIN');
  const a = await addresses(flags.config, env);
  const where = hostPort(reachableHost(a.admin.host.value), a.admin.port.value);
  const off = a.admin.enabled ? '' : `, where admin is switched off`;
  return { url: new URL(`http://${where}`), source: `admin ${where} from ${origin(a.admin.port, a.admin.host, a.file)}${off}`, token: a.admin.token };
}

/** The balancer's own address (what `make-request` loads). */
export async function listenTarget(flags: { url?: string; config?: string }, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const example = 'http://127.0.0.1:8080/';
  if (flags.url !== undefined) {
    const url = parseHttpUrl(flags.url, '--url', example, false);
    return { url, source: `${url.host} from --url` };
  }
  const fromEnv = nonEmpty(env.VELO_URL);
  if (fromEnv !== undefined) {
    const url = parseHttpUrl(fromEnv, '$VELO_URL', example, false);
    return { url, source: `${url.host} from $VELO_URL` };
  }
  const a = await addresses(flags.config, env);
  const where = hostPort(reachableHost(a.listen.host.value), a.listen.port.value);
  return { url: new URL(`${a.listen.tls ? 'https' : 'http'}://${where}/`), source: `${where} from ${origin(a.listen.port, a.listen.host, a.file)}` };
}
