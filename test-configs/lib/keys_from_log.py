#!/usr/bin/env python3
"""Extract CHILD_SA (ESP) keys from charon file logs into Wireshark esp_sa lines.

  keys_from_log.py [--out FILE] charon.log [charon.log ...]

Lab-only helper for charon builds without the save-keys plugin (Debian's 5.9.8 has
none). It needs the log written with `chd = 4` (filelog), which makes keymat_v2.c
dump the derived keys ("encryption initiator key => 36 bytes" plus a hex dump) and
child_sa.c log each installed SA ("adding inbound ESP SA" / "SPI 0x.., src A dst B").

Which key belongs to which SA follows child_create.c: the initiator of the exchange
that created the CHILD_SA installs its inbound SA with the responder's keys and its
outbound SA with the initiator's keys; the responder the other way round. The role is
taken from the last "parsed <EXCHANGE> request|response" line of the same charon
thread (the thread that parses the message also installs the SA). Keys of one SPI
found in several logs must agree (a cross-check); every SA is written once.

Output lines (Wireshark `esp_sa` UAT format, usable with esp_check.py and tshark):
  "IPv4","<src>","<dst>","0x<spi>","AES-GCM with 16 octet ICV [RFC4106]","0x<key||salt>","NULL",""
"""

import argparse
import re
import sys

ENCR = {
    "AES_GCM_16": "AES-GCM with 16 octet ICV [RFC4106]",
    "AES_GCM_12": "AES-GCM with 12 octet ICV [RFC4106]",
    "AES_GCM_8": "AES-GCM with 8 octet ICV [RFC4106]",
    "AES_CBC": "AES-CBC [RFC3602]",
    "AES_CTR": "AES-CTR [RFC3686]",
    "NULL": "NULL",
}
INTEG = {
    None: "NULL",
    "HMAC_SHA1_96": "HMAC-SHA-1-96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC-SHA-256-128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC-SHA-384-192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC-SHA-512-256 [RFC4868]",
}

LINE = re.compile(r"^(?:\S+ )?(\d\d)\[(\w+)\](?: <[^>]*>)? (.*)$")
HEX = re.compile(r"^\s*\d+: ((?:[0-9A-F]{2} ){1,16})")


def parse_log(path):
    threads = {}
    sas = []
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            tid, group, msg = m.groups()
            st = threads.setdefault(tid, {"role": None, "encr": None, "integ": None, "keys": {},
                                          "dump": None, "adding": None})
            if st["dump"] is not None and group == "CHD":
                h = HEX.match(msg)
                if h:
                    st["keys"][st["dump"]] += bytes.fromhex(h.group(1).replace(" ", ""))
                    continue
                st["dump"] = None
            if group == "ENC":
                p = re.match(r"parsed \S+ (request|response)", msg)
                if p:
                    st["role"] = "responder" if p.group(1) == "request" else "initiator"
                continue
            if group != "CHD":
                continue
            if "state change: CREATED => INSTALLING" in msg:
                st.update(encr=None, integ=None, keys={})
            u = re.match(r"\s*using (\S+) for (encryption|integrity)", msg)
            if u:
                st["encr" if u.group(2) == "encryption" else "integ"] = u.group(1)
                continue
            k = re.match(r"(encryption|integrity) (initiator|responder) key => (\d+) bytes", msg)
            if k:
                name = k.group(1) + "_" + k.group(2)
                st["keys"][name] = b""
                st["dump"] = name
                continue
            a = re.match(r"adding (inbound|outbound) (ESP|AH) SA", msg)
            if a:
                st["adding"] = a.group(1)
                continue
            s = re.match(r"\s*SPI 0x([0-9a-f]+), src (\S+) dst (\S+)", msg)
            if s and st["adding"]:
                direction = st["adding"]
                st["adding"] = None
                role = st["role"]
                if role is None:
                    print("%s: thread %s: unknown role for SPI 0x%s, skipped" % (path, tid, s.group(1)),
                          file=sys.stderr)
                    continue
                # initiator: in <- responder keys, out <- initiator keys; responder: reverse
                owner = "initiator" if (role == "initiator") == (direction == "outbound") else "responder"
                ek = st["keys"].get("encryption_" + owner)
                ik = st["keys"].get("integrity_" + owner)
                if ek is None:
                    print("%s: no key for SPI 0x%s (log with chd = 4?)" % (path, s.group(1)), file=sys.stderr)
                    continue
                sas.append(dict(spi=int(s.group(1), 16), src=s.group(2), dst=s.group(3),
                                encr=st["encr"], integ=st["integ"], ekey=ek, ikey=ik))
    return sas


def uat_line(sa):
    encr = ENCR.get(sa["encr"])
    integ = INTEG.get(sa["integ"])
    if encr is None or integ is None:
        raise ValueError("unsupported algorithm %s/%s" % (sa["encr"], sa["integ"]))
    fam = "IPv6" if ":" in sa["dst"] else "IPv4"
    return '"%s","%s","%s","0x%08x","%s","0x%s","%s","%s"' % (
        fam, sa["src"], sa["dst"], sa["spi"], encr, sa["ekey"].hex(), integ,
        ("0x" + sa["ikey"].hex()) if sa["ikey"] else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--out", help="write here (default stdout)")
    a = ap.parse_args()
    seen = {}
    order = []
    rc = 0
    for p in a.logs:
        for sa in parse_log(p):
            key = (sa["dst"], sa["spi"])
            if key in seen:
                o = seen[key]
                if (o["ekey"], o["ikey"], o["encr"]) != (sa["ekey"], sa["ikey"], sa["encr"]):
                    print("conflict: SPI 0x%08x dst %s has different keys in two logs" % key[::-1],
                          file=sys.stderr)
                    rc = 1
                else:
                    o["confirmed"] = True
                continue
            seen[key] = sa
            order.append(sa)
    lines = [uat_line(sa) for sa in order]
    text = "".join(l + "\n" for l in lines)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    confirmed = sum(1 for sa in order if sa.get("confirmed"))
    print("keys_from_log: %d SA(s) written, %d confirmed by a second log" % (len(order), confirmed),
          file=sys.stdout if a.out else sys.stderr)
    return rc if order else 1


if __name__ == "__main__":
    sys.exit(main())
