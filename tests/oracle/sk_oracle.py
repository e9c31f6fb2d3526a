#!/usr/bin/env python3
"""Independent oracle for the gikev2 crypto tests, built on pyca/cryptography.

It shares no code with the Rust implementation. Subcommands (all values in hex):

  open-msg   --encr gcm|cbc --encr-key K --integ none|sha256|sha384|sha512 [--integ-key K] --msg M
             Parses a complete IKEv2 message whose first payload is SK (46), checks the IKE
             header Length and the SK Payload Length, verifies the ICV and decrypts.
             Prints the inner payloads (Padding and Pad Length removed).
  seal-msg   --encr ... --encr-key K --integ ... [--integ-key K] --spi-i S --spi-r S
             --exchange N --flags N --msg-id N --first-payload N --inner P
             Builds a complete SK-protected message with its own IV and a non-minimal,
             non-zero padding, and prints it.
  verify     --alg ed25519|ecdsa-p256|rsa-pss --spki D --data D --sig S
             Prints OK if the signature verifies, FAIL otherwise.
  sign       --alg ed25519|ecdsa-p256|rsa-pss --data D
             Generates a key, signs, prints "<spki hex> <sig hex>".
  prf-plus   --hash sha256|sha384|sha512 --key K --seed S --len N
             RFC 7296 prf+ with HMAC, printed in hex.
  batch      Reads one of the command lines above per stdin line (arguments separated by
             white space) and prints one output line each ("ERROR <reason>" on failure).

References: RFC 7296 section 3.14 (SK payload), RFC 5282 (AES-GCM in IKEv2),
RFC 4868 (HMAC-SHA2 truncation), RFC 7427 (signature formats).
"""

import argparse
import hashlib
import hmac
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SK_PAYLOAD = 46
IKE_HDR_LEN = 28
GEN_HDR_LEN = 4

INTEG = {
    # name: (hashlib constructor, ICV length, key length)   RFC 4868 section 2.2
    "sha256": (hashlib.sha256, 16, 32),
    "sha384": (hashlib.sha384, 24, 48),
    "sha512": (hashlib.sha512, 32, 64),
}


class OracleError(Exception):
    pass


def fail(msg):
    raise OracleError(msg)


def parse_message(msg):
    """Returns (aad, body) after checking the IKE header and SK payload lengths."""
    if len(msg) < IKE_HDR_LEN + GEN_HDR_LEN:
        fail("message too short")
    next_payload = msg[16]
    if next_payload != SK_PAYLOAD:
        fail("first payload is %d, not SK" % next_payload)
    if msg[17] != 0x20:
        fail("IKE version is 0x%02x" % msg[17])
    (total,) = struct.unpack("!I", msg[24:28])
    if total != len(msg):
        fail("IKE header Length %d != message length %d" % (total, len(msg)))
    (pl_len,) = struct.unpack("!H", msg[IKE_HDR_LEN + 2:IKE_HDR_LEN + 4])
    if IKE_HDR_LEN + pl_len != len(msg):
        fail("SK Payload Length %d does not end the message" % pl_len)
    aad = msg[:IKE_HDR_LEN + GEN_HDR_LEN]
    body = msg[IKE_HDR_LEN + GEN_HDR_LEN:]
    return aad, body


def strip_padding(padded):
    if not padded:
        fail("empty plaintext")
    pad_len = padded[-1]
    if pad_len + 1 > len(padded):
        fail("bad Pad Length")
    return padded[:len(padded) - pad_len - 1]


def open_body(args, aad, body):
    ek = bytes.fromhex(args.encr_key)
    if args.encr == "gcm":
        key, salt = ek[:-4], ek[-4:]
        iv, rest = body[:8], body[8:]
        try:
            padded = AESGCM(key).decrypt(salt + iv, rest, aad)
        except InvalidTag:
            fail("GCM tag mismatch")
    else:
        h, icv_len, _ = INTEG[args.integ]
        ak = bytes.fromhex(args.integ_key)
        iv, ct, icv = body[:16], body[16:-icv_len], body[-icv_len:]
        mac = hmac.new(ak, aad + iv + ct, h).digest()[:icv_len]
        if not hmac.compare_digest(mac, icv):
            fail("ICV mismatch")
        dec = Cipher(algorithms.AES(ek), modes.CBC(iv)).decryptor()
        padded = dec.update(ct) + dec.finalize()
    return strip_padding(padded)


def cmd_open_msg(args):
    msg = bytes.fromhex(args.msg)
    aad, body = parse_message(msg)
    return open_body(args, aad, body).hex()


def cmd_seal_msg(args):
    inner = bytes.fromhex(args.inner)
    ek = bytes.fromhex(args.encr_key)
    if args.encr == "gcm":
        # Some padding (RFC 7296 allows any length and value); GCM needs none.
        pad = os.urandom(3)
        iv_len, icv_len, bs = 8, 16, 1
    else:
        _, icv_len, _ = INTEG[args.integ]
        iv_len, bs = 16, 16
        # Minimal padding plus one extra block, random non-zero octets.
        minimal = (bs - (len(inner) + 1) % bs) % bs
        pad = bytes((b | 1) for b in os.urandom(minimal + 16))
    padded = inner + pad + bytes([len(pad)])
    assert len(padded) % bs == 0
    body_len = iv_len + len(padded) + icv_len
    total = IKE_HDR_LEN + GEN_HDR_LEN + body_len
    hdr = (
        bytes.fromhex(args.spi_i)
        + bytes.fromhex(args.spi_r)
        + bytes([SK_PAYLOAD, 0x20, args.exchange, args.flags])
        + struct.pack("!II", args.msg_id, total)
    )
    gen = bytes([args.first_payload, 0]) + struct.pack("!H", GEN_HDR_LEN + body_len)
    aad = hdr + gen
    iv = os.urandom(iv_len)
    if args.encr == "gcm":
        key, salt = ek[:-4], ek[-4:]
        ct_tag = AESGCM(key).encrypt(salt + iv, padded, aad)
        body = iv + ct_tag
    else:
        h, icv_len, _ = INTEG[args.integ]
        enc = Cipher(algorithms.AES(ek), modes.CBC(iv)).encryptor()
        ct = enc.update(padded) + enc.finalize()
        mac = hmac.new(bytes.fromhex(args.integ_key), aad + iv + ct, h).digest()[:icv_len]
        body = iv + ct + mac
    msg = aad + body
    assert len(msg) == total
    return msg.hex()


def load_spki(der):
    return serialization.load_der_public_key(der)


def cmd_verify(args):
    pub = load_spki(bytes.fromhex(args.spki))
    data = bytes.fromhex(args.data)
    sig = bytes.fromhex(args.sig)
    try:
        if args.alg == "ed25519":
            if not isinstance(pub, ed25519.Ed25519PublicKey):
                fail("not an Ed25519 key")
            pub.verify(sig, data)
        elif args.alg == "ecdsa-p256":
            if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
                fail("not a P-256 key")
            pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif args.alg == "rsa-pss":
            if not isinstance(pub, rsa.RSAPublicKey):
                fail("not an RSA key")
            pub.verify(
                sig,
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        else:
            fail("unknown alg")
    except InvalidSignature:
        return "FAIL"
    return "OK"


def cmd_sign(args):
    data = bytes.fromhex(args.data)
    if args.alg == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        sig = key.sign(data)
    elif args.alg == "ecdsa-p256":
        key = ec.generate_private_key(ec.SECP256R1())
        sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif args.alg == "rsa-pss":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sig = key.sign(
            data,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    else:
        fail("unknown alg")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki.hex() + " " + sig.hex()


def cmd_prf_plus(args):
    h = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}[args.hash]
    key = bytes.fromhex(args.key)
    seed = bytes.fromhex(args.seed)
    out, t, i = b"", b"", 1
    while len(out) < args.len:
        t = hmac.new(key, t + seed + bytes([i]), h).digest()
        out += t
        i += 1
    return out[: args.len].hex()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def sk_args(sp):
        sp.add_argument("--encr", choices=["gcm", "cbc"], required=True)
        sp.add_argument("--encr-key", required=True)
        sp.add_argument("--integ", choices=["none", "sha256", "sha384", "sha512"], default="none")
        sp.add_argument("--integ-key", default="")

    sp = sub.add_parser("open-msg")
    sk_args(sp)
    sp.add_argument("--msg", required=True)
    sp.set_defaults(func=cmd_open_msg)

    sp = sub.add_parser("seal-msg")
    sk_args(sp)
    sp.add_argument("--spi-i", required=True)
    sp.add_argument("--spi-r", required=True)
    sp.add_argument("--exchange", type=int, required=True)
    sp.add_argument("--flags", type=int, default=0)
    sp.add_argument("--msg-id", type=int, required=True)
    sp.add_argument("--first-payload", type=int, required=True)
    sp.add_argument("--inner", required=True)
    sp.set_defaults(func=cmd_seal_msg)

    sp = sub.add_parser("verify")
    sp.add_argument("--alg", required=True)
    sp.add_argument("--spki", required=True)
    sp.add_argument("--data", required=True)
    sp.add_argument("--sig", required=True)
    sp.set_defaults(func=cmd_verify)

    sp = sub.add_parser("sign")
    sp.add_argument("--alg", required=True)
    sp.add_argument("--data", required=True)
    sp.set_defaults(func=cmd_sign)

    sp = sub.add_parser("prf-plus")
    sp.add_argument("--hash", required=True)
    sp.add_argument("--key", required=True)
    sp.add_argument("--seed", required=True)
    sp.add_argument("--len", type=int, required=True)
    sp.set_defaults(func=cmd_prf_plus)

    sp = sub.add_parser("batch", help="read one command line per stdin line; one output line each")
    sp.set_defaults(func=None)

    args = p.parse_args()
    if args.cmd != "batch":
        try:
            print(args.func(args))
        except OracleError as e:
            print(e, file=sys.stderr)
            sys.exit(2)
        return
    for line in sys.stdin:
        argv = line.split()
        if not argv:
            continue
        try:
            a = p.parse_args(argv)
            print(a.func(a))
        except OracleError as e:
            print("ERROR " + str(e))
        except SystemExit:
            print("ERROR bad arguments: " + " ".join(argv[:1]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
