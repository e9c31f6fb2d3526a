//! Cross-checks against an independent implementation: `tests/oracle/sk_oracle.py`, built on
//! Python's pyca/cryptography and `hmac`, sharing no code with the Rust side.
//!
//! These tests need `python3` with the `cryptography` module. If either is missing they FAIL
//! with a message saying so (CI installs them); they never pass silently.

use std::process::Command;
use std::sync::OnceLock;

use gikev2::crypto::ike_keys::{child_sa_keymat, gsk_w, GSK_W_LABEL};
use gikev2::crypto::prf::PrfAlg;
use gikev2::crypto::sign::{SignatureAlg, SigningKey, VerifyingKey};
use gikev2::crypto::sk::{EncrAlg, IntegAlg, SkProtector};
use gikev2::crypto::Key;

const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/sk_oracle.py");
const SK_PAYLOAD: u8 = 46;
const NOTIFY_PAYLOAD: u8 = 41;
const GSA_REKEY: u8 = 41;
const IKE_HDR_LEN: usize = 28;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn require_oracle() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let r = CHECK.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import cryptography; print(cryptography.__version__)"])
            .output()
            .map_err(|e| format!("cannot run `python3`: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "python3 cannot import the `cryptography` module: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    });
    if let Err(e) = r {
        panic!(
            "the crypto oracle tests need python3 with pyca/cryptography \
             (`apt-get install python3-cryptography` or `pip install cryptography`): {e}"
        );
    }
}

/// Runs the oracle once for a batch of commands (one process, so the Python start-up cost is
/// paid once) and returns one output line per command.
fn oracle_batch(cmds: &[Vec<String>]) -> Vec<String> {
    use std::io::Write;
    use std::process::Stdio;
    require_oracle();
    let mut child = Command::new("python3")
        .arg(ORACLE)
        .arg("batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 {ORACLE}: {e}"));
    let mut input = String::new();
    for c in cmds {
        assert!(c.iter().all(|a| !a.contains(char::is_whitespace)));
        input.push_str(&c.join(" "));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), cmds.len(), "one output line per command");
    for (c, l) in cmds.iter().zip(&lines) {
        assert!(!l.starts_with("ERROR"), "oracle {:?}: {l}", c[0]);
    }
    lines
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

struct Suite {
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    oracle_encr: &'static str,
    oracle_integ: &'static str,
}

fn suites() -> Vec<Suite> {
    let gcm = |bits| Suite {
        encr: EncrAlg::AesGcm16 { key_bits: bits },
        integ: None,
        oracle_encr: "gcm",
        oracle_integ: "none",
    };
    let cbc = |bits, integ, name| Suite {
        encr: EncrAlg::AesCbc { key_bits: bits },
        integ: Some(integ),
        oracle_encr: "cbc",
        oracle_integ: name,
    };
    vec![
        gcm(128),
        gcm(256),
        cbc(128, IntegAlg::HmacSha256_128, "sha256"),
        cbc(256, IntegAlg::HmacSha256_128, "sha256"),
        cbc(192, IntegAlg::HmacSha384_192, "sha384"),
        cbc(256, IntegAlg::HmacSha512_256, "sha512"),
    ]
}

/// A Notify payload (RFC 7296 §3.10) with `data_len` octets of notification data, standing
/// in for the inner payloads of a GSA_REKEY.
fn notify_payload(data_len: usize) -> Vec<u8> {
    let len = 8 + data_len;
    let mut p = vec![0, 0, (len >> 8) as u8, len as u8, 0, 0];
    p.extend_from_slice(&16429u16.to_be_bytes()); // GROUP_SENDER
    p.extend((0..data_len).map(|i| i as u8 ^ 0xa5));
    p
}

/// Builds `IKE header | SK generic header | IV | ciphertext | ICV` with the final Length
/// fields computed from `sealed_len` before sealing, as the protect layer will.
fn build_message(sk: &SkProtector, spi_i: &[u8; 8], spi_r: &[u8; 8], inner: &[u8]) -> Vec<u8> {
    let body_len = sk.sealed_len(inner.len());
    let total = IKE_HDR_LEN + 4 + body_len;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(spi_i);
    m.extend_from_slice(spi_r);
    m.extend_from_slice(&[SK_PAYLOAD, 0x20, GSA_REKEY, 0x00]);
    m.extend_from_slice(&7u32.to_be_bytes()); // Message ID
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&[NOTIFY_PAYLOAD, 0x00]);
    m.extend_from_slice(&((4 + body_len) as u16).to_be_bytes());
    assert_eq!(m.len(), IKE_HDR_LEN + 4);
    let iv = sk.fresh_iv().unwrap();
    let body = sk.seal(&m, &iv, inner).unwrap();
    m.extend_from_slice(&body);
    assert_eq!(m.len(), total);
    m
}

/// The oracle's key arguments; `--integ-key` is left out for AEAD (it would be empty).
fn sk_args(s: &Suite, ek: &Key, ak: &Key) -> Vec<String> {
    let mut c = cmd(&[
        "--encr",
        s.oracle_encr,
        "--encr-key",
        &to_hex(ek.as_bytes()),
        "--integ",
        s.oracle_integ,
    ]);
    if !ak.is_empty() {
        c.extend(cmd(&["--integ-key", &to_hex(ak.as_bytes())]));
    }
    c
}

fn keys(s: &Suite) -> (Key, Key) {
    let ek = Key::random(s.encr.key_len()).unwrap();
    let ak = Key::random(s.integ.map_or(0, |i| i.key_len())).unwrap();
    (ek, ak)
}

#[test]
fn rust_seals_oracle_opens() {
    let mut cmds = Vec::new();
    let mut expected = Vec::new();
    for s in suites() {
        let (ek, ak) = keys(&s);
        let sk = SkProtector::new(s.encr, s.integ, ek.as_bytes(), ak.as_bytes()).unwrap();
        for data_len in [0, 13, 40] {
            let inner = notify_payload(data_len);
            let msg = build_message(&sk, &[1; 8], &[2; 8], &inner);
            let mut c = cmd(&["open-msg", "--msg", &to_hex(&msg)]);
            c.extend(sk_args(&s, &ek, &ak));
            cmds.push(c);
            expected.push((
                format!("{:?} {:?} data_len={data_len}", s.encr, s.integ),
                inner,
            ));
        }
    }
    for (got, (what, inner)) in oracle_batch(&cmds).iter().zip(expected) {
        assert_eq!(hex(got), inner, "{what}");
    }
}

#[test]
fn oracle_seals_rust_opens() {
    let mut cmds = Vec::new();
    let mut cases = Vec::new();
    for s in suites() {
        let (ek, ak) = keys(&s);
        for data_len in [0, 13, 40] {
            let inner = notify_payload(data_len);
            let mut c = sk_args(&s, &ek, &ak);
            c.insert(0, "seal-msg".to_string());
            c.extend(cmd(&[
                "--spi-i",
                "0102030405060708",
                "--spi-r",
                "1112131415161718",
                "--exchange",
                &GSA_REKEY.to_string(),
                "--msg-id",
                "9",
                "--first-payload",
                &NOTIFY_PAYLOAD.to_string(),
                "--inner",
                &to_hex(&inner),
            ]));
            cmds.push(c);
            let sk = SkProtector::new(s.encr, s.integ, ek.as_bytes(), ak.as_bytes()).unwrap();
            cases.push((sk, inner));
        }
    }
    for (out, (sk, inner)) in oracle_batch(&cmds).iter().zip(cases) {
        let msg = hex(out);
        // Check the oracle's header, then open the SK payload.
        assert_eq!(msg[16], SK_PAYLOAD);
        assert_eq!(msg[18], GSA_REKEY);
        let total = u32::from_be_bytes(msg[24..28].try_into().unwrap()) as usize;
        assert_eq!(total, msg.len());
        let pl_len = u16::from_be_bytes(msg[30..32].try_into().unwrap()) as usize;
        assert_eq!(IKE_HDR_LEN + pl_len, msg.len());
        let (aad, body) = msg.split_at(IKE_HDR_LEN + 4);
        let got = sk.open(aad, body).unwrap();
        assert_eq!(&got[..], &inner[..], "{sk:?} inner len {}", inner.len());
        // The oracle pads CBC beyond the minimum (and GCM at all); that must not matter.
        assert!(body.len() > sk.sealed_len(inner.len()));
    }
}

fn oracle_alg(alg: SignatureAlg) -> &'static str {
    match alg {
        SignatureAlg::Ed25519 => "ed25519",
        SignatureAlg::EcdsaP256Sha256 => "ecdsa-p256",
        SignatureAlg::RsaPssSha256 => "rsa-pss",
    }
}

const ALL_SIG: [SignatureAlg; 3] = [
    SignatureAlg::Ed25519,
    SignatureAlg::EcdsaP256Sha256,
    SignatureAlg::RsaPssSha256,
];

#[test]
fn rust_signatures_verify_in_oracle() {
    let data = b"A | P: adjusted IKE header, adjusted SK header, inner payloads";
    let mut cmds = Vec::new();
    for alg in ALL_SIG {
        let sk = SigningKey::generate(alg).unwrap();
        let spki = to_hex(&sk.public_spki_der().unwrap());
        let sig = sk.sign(data).unwrap();
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        for s in [&sig, &bad] {
            cmds.push(cmd(&[
                "verify",
                "--alg",
                oracle_alg(alg),
                "--spki",
                &spki,
                "--data",
                &to_hex(data),
                "--sig",
                &to_hex(s),
            ]));
        }
    }
    let out = oracle_batch(&cmds);
    for (i, alg) in ALL_SIG.iter().enumerate() {
        assert_eq!(out[2 * i], "OK", "{alg:?}");
        assert_eq!(out[2 * i + 1], "FAIL", "{alg:?} tampered");
    }
}

#[test]
fn oracle_signatures_verify_in_rust() {
    let data = b"signed by pyca/cryptography";
    let cmds: Vec<_> = ALL_SIG
        .iter()
        .map(|&alg| cmd(&["sign", "--alg", oracle_alg(alg), "--data", &to_hex(data)]))
        .collect();
    for (out, alg) in oracle_batch(&cmds).iter().zip(ALL_SIG) {
        let (spki, sig) = out.split_once(' ').unwrap();
        let vk = VerifyingKey::from_spki_der(alg, &hex(spki)).unwrap();
        vk.verify(data, &hex(sig)).unwrap();
        assert!(vk.verify(b"other data", &hex(sig)).is_err());
    }
}

#[test]
fn key_derivation_matches_oracle() {
    let mut cmds = Vec::new();
    let mut expected = Vec::new();
    for (alg, name) in [
        (PrfAlg::HmacSha256, "sha256"),
        (PrfAlg::HmacSha384, "sha384"),
        (PrfAlg::HmacSha512, "sha512"),
    ] {
        let sk_d = Key::random(alg.output_len()).unwrap();
        let w = gsk_w(
            alg,
            sk_d.as_bytes(),
            gikev2::crypto::keywrap::Kwa::Kw5649_256,
        )
        .unwrap();
        cmds.push(cmd(&[
            "prf-plus",
            "--hash",
            name,
            "--key",
            &to_hex(sk_d.as_bytes()),
            "--seed",
            &to_hex(GSK_W_LABEL),
            "--len",
            "32",
        ]));
        expected.push((format!("GSK_w {alg:?}"), w.as_bytes().to_vec()));
        let (ni, nr, g) = ([1u8; 32], [2u8; 16], [3u8; 32]);
        let km = child_sa_keymat(alg, sk_d.as_bytes(), Some(&g), &ni, &nr, 300).unwrap();
        cmds.push(cmd(&[
            "prf-plus",
            "--hash",
            name,
            "--key",
            &to_hex(sk_d.as_bytes()),
            "--seed",
            &to_hex(&[&g[..], &ni, &nr].concat()),
            "--len",
            "300",
        ]));
        expected.push((format!("child KEYMAT {alg:?}"), km.to_vec()));
    }
    for (out, (what, exp)) in oracle_batch(&cmds).iter().zip(expected) {
        assert_eq!(hex(out), exp, "{what}");
    }
}
