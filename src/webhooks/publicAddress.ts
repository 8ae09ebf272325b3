import { BlockList, isIP } from 'node:net';

/**
 * Which addresses webhooks are not sent to: anything a request from the engine could reach on its
 * own host or network (loopback, private, link-local, the cloud metadata address) and anything
 * that is not one public host (multicast, broadcast, reserved, documentation). The first range an
 * address falls in names it.
 */
const RANGES: [range: string, subnets: string[]][] = [
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['carrier-grade NAT', ['100.64.0.0/10']],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['unique-local', ['fc00::/7']],
  ['multicast', ['224.0.0.0/4', 'ff00::/8']],
  ['broadcast', ['255.255.255.255/32']],
  ['documentation', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20']],
  ['benchmarking', ['198.18.0.0/15', '2001:2::/48']],
  // IETF protocol assignments (Teredo, ORCHID among them), 6to4 relays, class E, discard-only, local NAT64, site-local.
  ['reserved', ['192.0.0.0/24', '192.88.99.0/24', '240.0.0.0/4', '100::/64', '64:ff9b:1::/48', '2001::/23', 'fec0::/10']],
];

const BLOCKS = RANGES.map(([range, subnets]) => {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [network, prefix] = subnet.split('/');
    list.addSubnet(network, Number(prefix), isIP(network) === 4 ? 'ipv4' : 'ipv6');
  }
  return { range, list };
});

/**
 * The non-public range an IP address is in ('loopback', 'private', …), or undefined when it is a
 * public one. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged
 * by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
 */
export function nonPublicRange(address: string): string | undefined {
  // A zone (`fe80::1%eth0`) only ever follows a link-local address; the range is in what precedes it.
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  const hit = BLOCKS.find(({ list }) => list.check(bare, family === 4 ? 'ipv4' : 'ipv6'));
  if (hit) return hit.range;
  if (family === 4) return undefined;
  const groups = ipv6Groups(bare);
  const carried = carriedIpv4(groups);
  // The deprecated compatible form (::a.b.c.d) reaches nothing even for a public IPv4 address.
  if (carried) return nonPublicRange(carried.address) ?? (carried.deprecated ? 'reserved' : undefined);
  // Every public IPv6 unicast address is in 2000::/3; the rest is reserved.
  return groups[0] >> 13 === 1 ? undefined : 'reserved';
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 counts as two). */
function ipv6Groups(address: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const hex = dotted
    ? `${address.slice(0, dotted.index)}${((+dotted[1] << 8) | +dotted[2]).toString(16)}:${((+dotted[3] << 8) | +dotted[4]).toString(16)}`
    : address;
  const [head, tail] = hex.split('::');
  const groupsOf = (text: string | undefined) => (text ? text.split(':').map((group) => parseInt(group, 16)) : []);
  const front = groupsOf(head);
  if (tail === undefined) return front;
  const back = groupsOf(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 address carries, if it is of a form that carries one. */
function carriedIpv4(groups: number[]): { address: string; deprecated: boolean } | undefined {
  const zero = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  const ipv4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  if (zero(0, 5) && groups[5] === 0xffff) return { address: ipv4(groups[6], groups[7]), deprecated: false };
  if (zero(0, 6)) return { address: ipv4(groups[6], groups[7]), deprecated: true };
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) return { address: ipv4(groups[6], groups[7]), deprecated: false };
  if (groups[0] === 0x2002) return { address: ipv4(groups[1], groups[2]), deprecated: false };
  return undefined;
}
