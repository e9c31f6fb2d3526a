#!/usr/bin/python3
"""Decrypt the ESP in a capture with known keys, twice (scapy and tshark), and look
for an expected plaintext.

  esp_check.py --pcap capture.pcap --keys esp_sa [--keys more_esp_sa] --expect TEXT
               [--min N] [--dst ADDR] [--spi 0xSPI] [--udp-port 4500] [--no-scapy] [--no-tshark]
               [--show N]

--keys files hold Wireshark `esp_sa` UAT lines (the format of the plugin's save_keys
file, of strongSwan's save-keys plugin, and of lib/keys_from_log.py):

  "IPv4","<src or *>","<dst>","0x<spi>","<encryption>","0x<key>","<authentication>","0x<key>|"

encryption: "AES-GCM with 16 octet ICV [RFC4106]" (key = key||4-octet salt, as in
RFC 4106 keying), "AES-CBC [RFC3602]"; authentication: "NULL" (with GCM),
"HMAC-SHA-256-128 [RFC4868]" (also -SHA-1-96, -SHA-384-192, -SHA-512-256).

ESP is found as ESP-in-UDP (RFC 3948: UDP port 4500, or --udp-port, first four octets
non-zero; this is what kernel-libipsec sends) and as raw IP protocol 50. Tunnel mode:
the plaintext is an inner IP packet. scapy (scapy.layers.ipsec.SecurityAssociation)
and tshark (-o esp.enable_encryption_decode:TRUE -o uat:esp_sa:...) each decrypt on
their own; each must find at least --min ESP packets whose decrypted inner packet
contains TEXT. Prints one line per such packet and a summary; exit 0 only if every
enabled decoder succeeded. The last line is "PASS ..." or "FAIL ...".
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore", module=r"scapy\b.*")   # cryptography deprecation noise

try:
    import scapy  # noqa: F401
except ImportError:                      # pyenv/venv interpreter: use Debian's python3-scapy
    sys.path.append("/usr/lib/python3/dist-packages")

SCAPY_ENCR = {
    "AES-GCM with 16 octet ICV [RFC4106]": "AES-GCM",
    "AES-GCM [RFC4106]": "AES-GCM",
    "AES-CBC [RFC3602]": "AES-CBC",
    "AES-CBC-128 [RFC3602]": "AES-CBC",
    "AES-CBC-192 [RFC3602]": "AES-CBC",
    "AES-CBC-256 [RFC3602]": "AES-CBC",
    "AES-CTR [RFC3686]": "AES-CTR",
    "NULL": "NULL",
}
SCAPY_AUTH = {
    "NULL": None,
    "HMAC-SHA-1-96 [RFC2404]": "HMAC-SHA1-96",
    "HMAC-SHA-256-128 [RFC4868]": "SHA2-256-128",
    "HMAC-SHA-384-192 [RFC4868]": "SHA2-384-192",
    "HMAC-SHA-512-256 [RFC4868]": "SHA2-512-256",
}


def hexkey(s):
    s = s.strip()
    if s.lower().startswith("0x"):
        s = s[2:]
    return bytes.fromhex(s) if s else b""


def read_keys(paths):
    sas = []
    for p in paths:
        with open(p) as f:
            for row in csv.reader(l for l in f if l.strip() and not l.lstrip().startswith("#")):
                if len(row) < 7:
                    raise SystemExit("%s: bad esp_sa line %r" % (p, row))
                row += [""] * (8 - len(row))
                sas.append(dict(family=row[0], src=row[1], dst=row[2], spi=int(row[3], 16),
                                encr=row[4], ekey=hexkey(row[5]), auth=row[6], akey=hexkey(row[7]),
                                line=",".join('"%s"' % c for c in row[:8])))
    return sas


def find_sa(sas, src, dst, spi):
    for sa in sas:
        if sa["spi"] == spi and sa["dst"] in (dst, "*") and sa["src"] in (src, "*"):
            return sa
    return None


def esp_packets(pcap, udp_ports):
    """Yield (index, outer src, outer dst, esp bytes, encap) for each ESP packet."""
    from scapy.all import PcapReader
    from scapy.layers.inet import IP, UDP
    with PcapReader(pcap) as rd:
        for i, pkt in enumerate(rd, 1):
            if IP not in pkt:
                continue
            ip = pkt[IP]
            if ip.proto == 50:
                yield i, ip.src, ip.dst, bytes(ip.payload), "raw"
            elif UDP in ip and (ip[UDP].sport in udp_ports or ip[UDP].dport in udp_ports):
                data = bytes(ip[UDP].payload)
                if len(data) >= 8 and data[:4] != b"\0\0\0\0":
                    yield i, ip.src, ip.dst, data, "udp"


def summary(inner):
    try:
        from scapy.layers.inet import IP, UDP, ICMP
        if IP in inner:
            ip = inner[IP]
            desc = "%s > %s" % (ip.src, ip.dst)
            if UDP in ip:
                desc += " udp %d>%d %r" % (ip[UDP].sport, ip[UDP].dport, bytes(ip[UDP].payload)[:40])
            elif ICMP in ip:
                desc += " icmp type %d" % ip[ICMP].type
            else:
                desc += " proto %d" % ip.proto
            return desc
    except Exception:  # noqa: BLE001
        pass
    return repr(bytes(inner)[:40])


def check_scapy(args, sas, expect):
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    total = decrypted = matched = 0
    nokey = set()
    errors = {}
    shown = 0
    for i, src, dst, data, encap in esp_packets(args.pcap, args.udp_port):
        spi = int.from_bytes(data[:4], "big")
        if args.dst and dst != args.dst or args.spi is not None and spi != args.spi:
            continue
        total += 1
        sa = find_sa(sas, src, dst, spi)
        if sa is None:
            nokey.add("0x%08x->%s" % (spi, dst))
            continue
        if sa["encr"] not in SCAPY_ENCR or sa["auth"] not in SCAPY_AUTH:
            errors["unsupported algorithm %s/%s" % (sa["encr"], sa["auth"])] = 1
            continue
        try:
            ssa = SecurityAssociation(ESP, spi=spi, crypt_algo=SCAPY_ENCR[sa["encr"]], crypt_key=sa["ekey"],
                                      auth_algo=SCAPY_AUTH[sa["auth"]], auth_key=sa["akey"] or None,
                                      tunnel_header=IP(src=src, dst=dst))
            outer = IP(bytes(IP(src=src, dst=dst, proto=50) / data))
            inner = ssa.decrypt(outer)
        except Exception as e:  # noqa: BLE001 - integrity failure, bad padding, ...
            msg = e.__class__.__name__
            errors[msg] = errors.get(msg, 0) + 1
            continue
        decrypted += 1
        if expect in bytes(inner):
            matched += 1
            if shown < args.show:
                shown += 1
                print("scapy:  #%d ESP%s spi 0x%08x %s>%s: inner %s" % (
                    i, "" if encap == "raw" else "-in-UDP", spi, src, dst, summary(inner)))
    ok = matched >= args.min
    print("scapy:  %d ESP packet(s), %d decrypted and verified, %d contain %r%s%s -> %s" % (
        total, decrypted, matched, expect.decode(errors="replace"),
        "; no key for " + ", ".join(sorted(nokey)) if nokey else "",
        "; errors: " + "; ".join("%s (x%d)" % kv for kv in errors.items()) if errors else "",
        "ok" if ok else "FAILED"))
    return ok


def tshark_uat(sa):
    return "uat:esp_sa:" + sa["line"]


def check_tshark(args, sas, expect):
    tshark = shutil.which("tshark")
    if not tshark:
        print("tshark: not installed -> FAILED")
        return False
    cmd = [tshark, "-n", "-r", args.pcap, "-o", "esp.enable_encryption_decode:TRUE"]
    for sa in sas:
        cmd += ["-o", tshark_uat(sa)]
    for port in args.udp_port:
        if port != 4500:
            cmd += ["-d", "udp.port==%d,udpencap" % port]
    cmd += ["-Y", "esp", "-T", "fields", "-E", "occurrence=a", "-E", "separator=|", "-E", "aggregator=,",
            "-e", "frame.number", "-e", "esp.spi", "-e", "ip.src", "-e", "ip.dst", "-e", "data.data",
            "-e", "icmp.type", "-e", "udp.dstport"]
    env = dict(os.environ)
    env.setdefault("HOME", "/tmp")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env)
    if r.returncode != 0:
        print("tshark: exit %d: %s -> FAILED" % (r.returncode, r.stderr.strip()[-500:]))
        return False
    want = expect.hex()
    total = decrypted = matched = 0
    shown = 0
    for line in r.stdout.splitlines():
        f = line.split("|")
        if len(f) < 5:
            continue
        num, spis, srcs, dsts, datas = f[:5]
        if not spis:
            continue
        spi = int(spis.split(",")[0], 16)
        outer_dst = dsts.split(",")[0]
        if args.dst and outer_dst != args.dst or args.spi is not None and spi != args.spi:
            continue
        total += 1
        if len(srcs.split(",")) >= 2:          # an inner IP header was dissected: decrypted
            decrypted += 1
        if want in datas.replace(",", "").replace(":", "").lower():
            matched += 1
            if shown < args.show:
                shown += 1
                print("tshark: #%s ESP spi 0x%08x %s>%s: inner %s > %s, payload contains %r" % (
                    num, spi, srcs.split(",")[0], outer_dst, srcs.split(",")[-1], dsts.split(",")[-1],
                    expect.decode(errors="replace")))
    ok = matched >= args.min
    print("tshark: %d ESP packet(s), %d with a decrypted inner IP header, %d contain %r -> %s" % (
        total, decrypted, matched, expect.decode(errors="replace"), "ok" if ok else "FAILED"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--keys", action="append", required=True, help="esp_sa file (repeatable)")
    ap.add_argument("--expect", required=True, help="plaintext that decrypted packets must contain")
    ap.add_argument("--min", type=int, default=1, help="packets that must contain it (default 1)")
    ap.add_argument("--dst", help="only ESP to this outer destination (e.g. the group address)")
    ap.add_argument("--spi", type=lambda s: int(s, 16), help="only this SPI (hex)")
    ap.add_argument("--udp-port", type=int, action="append", help="ESP-in-UDP port(s) (default 4500)")
    ap.add_argument("--no-scapy", action="store_true")
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--flip-keys", action="store_true",
                    help="negative control: flip one bit of every encryption and integrity key "
                         "(nothing may decrypt)")
    ap.add_argument("--show", type=int, default=5, help="matching packets to print per decoder")
    args = ap.parse_args()
    args.udp_port = args.udp_port or [4500]
    keys = [k for k in args.keys if os.path.exists(k)]
    missing = [k for k in args.keys if not os.path.exists(k)]
    if missing:
        print("FAIL: key file(s) missing: %s" % ", ".join(missing))
        return 1
    sas = read_keys(keys)
    if args.flip_keys:
        for sa in sas:
            f = sa["line"].split('","')
            sa["ekey"] = bytes([sa["ekey"][0] ^ 0x01]) + sa["ekey"][1:]
            f[5] = "0x" + sa["ekey"].hex()
            if sa["akey"]:
                sa["akey"] = bytes([sa["akey"][0] ^ 0x01]) + sa["akey"][1:]
                f[7] = "0x" + sa["akey"].hex() + '"'
            sa["line"] = '","'.join(f)
    print("keys:   %d SA(s) from %s" % (len(sas), ", ".join(keys)))
    if not sas:
        print("FAIL: no keys")
        return 1
    expect = args.expect.encode()
    results = []
    if not args.no_scapy:
        results.append(("scapy", check_scapy(args, sas, expect)))
    if not args.no_tshark:
        results.append(("tshark", check_tshark(args, sas, expect)))
    if results and all(ok for _, ok in results):
        print("PASS: %s decrypted ESP containing %r" % (" and ".join(n for n, _ in results), args.expect))
        return 0
    print("FAIL: %s" % ", ".join("%s %s" % (n, "ok" if ok else "failed") for n, ok in results))
    return 1


if __name__ == "__main__":
    sys.exit(main())
