/**
 * The `ip_filter` of the config on `net.BlockList`: a peer is denied when it matches `deny`,
 * or when `allow` is non-empty and it matches none of it.
 */
import net from 'node:net';

function toBlockList(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = net.isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (prefix !== undefined) list.addSubnet(address!, Number(prefix), family);
    else list.addAddress(address!, family);
  }
  return list;
}

/** `::ffff:10.0.0.1` -> `10.0.0.1`, so IPv4 rules apply to IPv4-mapped peers. */
export function normalizeIp(ip: string | undefined): string {
  if (ip === undefined) return '';
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export class IpMatcher {
  private readonly list: net.BlockList;
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.list = toBlockList(entries);
    this.empty = entries.length === 0;
  }

  matches(ip: string): boolean {
    if (this.empty || ip === '') return false;
    return this.list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  }
}

export class IpFilter {
  private readonly allow: IpMatcher;
  private readonly deny: IpMatcher;

  constructor(config: { allow: readonly string[]; deny: readonly string[] }) {
    this.allow = new IpMatcher(config.allow);
    this.deny = new IpMatcher(config.deny);
  }

  get active(): boolean {
    return !this.allow.empty || !this.deny.empty;
  }

  allows(ip: string): boolean {
    if (this.deny.matches(ip)) return false;
    return this.allow.empty || this.allow.matches(ip);
  }
}
