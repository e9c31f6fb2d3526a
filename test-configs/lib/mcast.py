#!/usr/bin/env python3
"""Multicast (or unicast) UDP sender and receiver for the lab; run inside a host netns.

  mcast.py send --group 239.1.1.1 --port 5000 --count 5 --interval 0.2 --message TEXT [--iface IF] [--src ADDR] [--ttl N]
  mcast.py recv --group 239.1.1.1 --port 5000 --iface ipsec0 [--timeout S] [--count N] [--out FILE]

send: datagram i (1..count) carries "TEXT i". Without --iface the routing table
chooses the interface; with kernel-libipsec the policy route to the group (table 220)
points at the TUN device ipsec0, which is what makes libipsec encrypt the datagram.
--iface sets IP_MULTICAST_IF explicitly (use ipsec0 to force the tunnel, eth0 for
clear text). A unicast --group address is sent to as is.

recv: joins the group on --iface (kernel-libipsec injects decrypted group traffic
into ipsec0, so a receiver of protected group traffic joins there; the interface
may not exist yet, it is waited for). It writes one line per datagram
("<payload>" as text) to --out (created, empty, right after the join: its
existence means "ready") and to stdout, and stops after --count datagrams or
--timeout seconds. Exit status 0 if at least one datagram arrived, 1 otherwise.
For a unicast --group it just binds the port.
"""

import argparse
import ipaddress
import os
import socket
import struct
import sys
import time


def ifindex(name, wait=0.0):
    t0 = time.monotonic()
    while True:
        try:
            return socket.if_nametoindex(name)
        except OSError:
            if time.monotonic() - t0 >= wait:
                raise SystemExit("mcast: no interface %s" % name)
            time.sleep(0.2)


def is_mcast(addr):
    return ipaddress.ip_address(addr).is_multicast


def send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.src:
        s.bind((a.src, 0))
    if is_mcast(a.group):
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        if a.iface:
            idx = ifindex(a.iface, wait=a.wait_iface)
            mreqn = struct.pack("=4s4si", socket.inet_aton("0.0.0.0"), socket.inet_aton("0.0.0.0"), idx)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    elif a.iface:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    for i in range(1, a.count + 1):
        payload = ("%s %d" % (a.message, i)).encode()
        try:
            s.sendto(payload, (a.group, a.port))
            print("sent %r to %s:%d" % (payload.decode(), a.group, a.port), flush=True)
        except OSError as e:
            print("send %d failed: %s" % (i, e), flush=True)
        if i < a.count:
            time.sleep(a.interval)
    return 0


def recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if is_mcast(a.group):
        s.bind((a.group, a.port))           # only this group's datagrams
        idx = ifindex(a.iface, wait=a.timeout) if a.iface else 0
        mreqn = struct.pack("=4s4si", socket.inet_aton(a.group), socket.inet_aton("0.0.0.0"), idx)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        print("joined %s on %s, port %d" % (a.group, a.iface or "default interface", a.port), flush=True)
    else:
        s.bind((a.group, a.port))
        print("listening on %s:%d" % (a.group, a.port), flush=True)
    out = open(a.out, "w") if a.out else None
    if out:
        out.flush()
    got = 0
    deadline = time.monotonic() + a.timeout
    while got < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        got += 1
        text = data.decode(errors="replace").replace("\n", " ")
        print("received %r from %s:%d" % (text, peer[0], peer[1]), flush=True)
        if out:
            out.write(text + "\n")
            out.flush()
    print("received %d datagram(s)" % got, flush=True)
    return 0 if got else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    ps = sub.add_parser("send")
    ps.add_argument("--group", required=True)
    ps.add_argument("--port", type=int, required=True)
    ps.add_argument("--count", type=int, default=1)
    ps.add_argument("--interval", type=float, default=0.2)
    ps.add_argument("--message", default="gikev2-lab")
    ps.add_argument("--iface")
    ps.add_argument("--wait-iface", type=float, default=5.0, help="seconds to wait for --iface to appear")
    ps.add_argument("--src", help="source address to bind")
    ps.add_argument("--ttl", type=int, default=4)
    pr = sub.add_parser("recv")
    pr.add_argument("--group", required=True)
    pr.add_argument("--port", type=int, required=True)
    pr.add_argument("--iface")
    pr.add_argument("--timeout", type=float, default=30.0)
    pr.add_argument("--count", type=int, default=1 << 30)
    pr.add_argument("--out")
    a = ap.parse_args()
    try:
        return send(a) if a.mode == "send" else recv(a)
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
