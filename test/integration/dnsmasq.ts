/**
 * A real `dnsmasq` for one test, answering only from a hosts file and SRV options (no upstream
 * servers, no /etc/hosts), authoritative for `.internal` (unknown names are NXDOMAIN), with
 * TTL 1 s. dnsmasq cannot take port 0, so random high ports on 127.0.0.53 are tried until one
 * starts (at most 20); the process is kept, never a port probed first. Killed and its directory
 * removed by the test's teardown.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
const DNSMASQ = existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';

/** True when `dnsmasq` can be run (CI installs it: .ci/run). */
export function dnsmasqInstalled(): boolean {
  return spawnSync(DNSMASQ, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** One SRV record: `_http._tcp.api.internal` -> target:port, priority, weight (RFC 2782). */
export interface SrvOption {
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface TestDnsmasq {
  /** `127.0.0.53:PORT`, for `dns.servers`. */
  readonly server: string;
  /** Rewrites the hosts file (name -> addresses) and sends SIGHUP; resolves once `check` name answers as written. */
  setHosts(hosts: Record<string, string[]>): Promise<void>;
  /** SIGKILLs dnsmasq (queries are then refused) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port with these SRV records (dnsmasq reads SRV options only at start). */
  restart(srv?: SrvOption[]): Promise<void>;
}

const HOST = '127.0.0.53';

function hostsText(hosts: Record<string, string[]>): string {
  return Object.entries(hosts)
    .flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}\n`))
    .join('');
}

/** Polls `check` until true or the deadline; throws naming `what`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`dnsmasq: timed out after ${ms}ms waiting for ${what}`);
}

export async function startDnsmasq(t: ExecutionContext, hosts: Record<string, string[]>, srv: SrvOption[] = []): Promise<TestDnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'velo-dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, hostsText(hosts));
  let child: ChildProcess | undefined;
  let port = 0;
  let stderr = '';
  const resolver = (): Resolver => {
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([`${HOST}:${port}`]);
    return r;
  };
  const run = async (p: number, records: SrvOption[]): Promise<boolean> => {
    const args = [
      '--no-daemon', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces',
      `--listen-address=${HOST}`, `--port=${p}`, `--addn-hosts=${hostsFile}`, '--local-ttl=1', '--local=/internal/',
      '--host-record=ready.internal,127.0.0.1', '--pid-file=', `--user=${userInfo().username}`, '--log-facility=-',
      ...records.map((s) => `--srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 1}`),
    ];
    const proc = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    proc.on('exit', () => (exited = true));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    port = p;
    try {
      await until(async () => exited || (await resolver().resolve4('ready.internal').then(() => true, () => false)), 5000, `dnsmasq on ${HOST}:${p}`);
    } catch {
      proc.kill('SIGKILL');
      return false;
    }
    if (exited) return false;
    child = proc;
    return true;
  };
  let started = false;
  for (let i = 0; i < 20 && !started; i++) started = await run(20_000 + Math.floor(Math.random() * 40_000), srv);
  if (!started) throw new Error(`dnsmasq did not start: ${stderr.slice(-500)}`);
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  };
  t.teardown(async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    server: `${HOST}:${port}`,
    async setHosts(next) {
      writeFileSync(hostsFile, hostsText(next));
      child!.kill('SIGHUP');
      const [name, ips] = Object.entries(next)[0] ?? [];
      if (name === undefined) return;
      const want = ips!.filter((ip) => !ip.includes(':')).sort().join();
      await until(async () => (await resolver().resolve4(name).then((a) => a.sort().join(), () => '')) === want, 5000, `${name} -> ${want}`);
    },
    kill,
    async restart(records = srv) {
      await kill();
      const p = port;
      if (!(await run(p, records))) throw new Error(`dnsmasq did not restart on port ${p}: ${stderr.slice(-500)}`);
    },
  };
}
