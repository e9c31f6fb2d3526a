//! Decodes one IKE message into a [`Node`]: header, payloads, and the SK/SKF content
//! when keys are available (RFC 7296 §3.14, RFC 7383 for fragments, RFC 9838 §2.4.1
//! for GSA_REKEY protected with GSK_e/GSK_a).

use crate::describe::{self, Ctx};
use crate::keymat;
use crate::keys::{self, Direction, KeyStore};
use crate::net::Endpoints;
use crate::pcap::Timestamp;
use crate::render::{format_time, hex, hexdump, Node};
use gikev2::crypto::sk::SkProtector;
use gikev2::wire::{
    self, flags, DecodeError, ExchangeType, IkeHeader, Message, Payload, PayloadBody, PayloadType,
    RawHeader, IKE_HEADER_LEN,
};
use std::collections::HashMap;
use zeroize::Zeroizing;

/// One IKE message to inspect, with where it came from.
pub struct Item<'a> {
    /// Frame number in a capture, or `None` for raw input.
    pub frame: Option<usize>,
    /// Message number within raw input (1-based).
    pub index: usize,
    /// Capture time.
    pub ts: Option<Timestamp>,
    /// Addresses and ports.
    pub ends: Option<Endpoints>,
    /// A non-ESP marker preceded the message.
    pub marker: bool,
    /// The message octets (after the marker).
    pub data: &'a [u8],
    /// The datagram was cut short: (octets present, octets expected).
    pub short: Option<(usize, usize)>,
}

type FragKey = ([u8; 8], [u8; 8], u32, u8);

struct FragState {
    total: u16,
    inner_first: Option<PayloadType>,
    parts: HashMap<u16, (String, Zeroizing<Vec<u8>>)>,
}

/// Inspects messages in order, keeping fragment reassembly state.
pub struct Inspector<'k> {
    keys: &'k KeyStore,
    show_keys: bool,
    frags: HashMap<FragKey, FragState>,
    /// Number of messages that failed to decode or decrypt.
    pub failures: usize,
    /// Number of IKE messages seen.
    pub messages: usize,
    /// KWA of each IKE SA (from IKE_SA_INIT) and Rekey SA (from KEK policies), by the
    /// 16-octet SPI pair of the messages it protects.
    kwas: HashMap<[u8; 16], u16>,
}

/// Result of trying to decrypt an SK/SKF body.
enum Decrypt {
    NoKeys,
    Unusable(String),
    Failed(String),
    Ok {
        plaintext: Zeroizing<Vec<u8>>,
        how: String,
    },
}

impl<'k> Inspector<'k> {
    /// A new inspector.
    pub fn new(keys: &'k KeyStore, show_keys: bool) -> Self {
        Inspector {
            keys,
            show_keys,
            frags: HashMap::new(),
            failures: 0,
            messages: 0,
            kwas: HashMap::new(),
        }
    }

    /// The top line and location fields of an item.
    fn frame_node(&self, item: &Item<'_>, what: &str) -> Node {
        let mut parts = Vec::new();
        let mut n = Node::new("");
        match item.frame {
            Some(f) => {
                parts.push(format!("frame {f}"));
                n.set("frame", f);
            }
            None => {
                parts.push(format!("message {}", item.index));
                n.set("index", item.index);
            }
        }
        if let Some(ts) = item.ts {
            let (text, iso) = format_time(ts.secs, ts.nanos);
            parts.push(text);
            n.set("time", iso);
        }
        if let Some(e) = &item.ends {
            parts.push(e.describe());
            n.set("src", e.src.to_string());
            n.set("sport", e.sport);
            n.set("dst", e.dst.to_string());
            n.set("dport", e.dport);
        }
        n.set("non_esp_marker", item.marker);
        parts.push(format!(
            "{what} {} octets{}",
            item.data.len(),
            if item.marker {
                " after the non-ESP marker"
            } else {
                ""
            }
        ));
        n.set("length", item.data.len());
        n.text = parts.join("  ");
        if let Some((have, want)) = item.short {
            n.line(format!(
                "warning: only {have} of the datagram's {want} payload octets were captured"
            ));
            n.set("captured_short", true);
        }
        n
    }

    /// Inspects one message.
    pub fn message(&mut self, item: &Item<'_>) -> Node {
        let d = item.data;
        // GDOI (IKEv1) shares port 848 (RFC 9838 §2.1): tell it apart by the version.
        if d.len() >= 18 && d[17] >> 4 == 1 {
            let mut n = self.frame_node(item, "IKEv1");
            n.line(format!(
                "IKEv1/GDOI message (version {}.{}, exchange {}): not decoded",
                d[17] >> 4,
                d[17] & 0xf,
                d[18]
            ));
            n.set("status", "skipped");
            n.set("reason", "IKEv1/GDOI message");
            return n;
        }
        self.messages += 1;
        let mut n = self.frame_node(item, "IKE");
        match Message::decode(d) {
            Ok(msg) => {
                n.set("status", "ok");
                n.push_one("header", header_node(&msg.header, d));
                self.learn_kwas(&msg.header, &msg.payloads);
                let needs = keymat::needs(&msg.payloads);
                let ctx = Ctx {
                    show_keys: self.show_keys,
                    sag: is_sag_context(&msg.header),
                    needs: Some(&needs),
                    kwa: self.kwas.get(&msg.header.spi_pair()).copied(),
                };
                let spans = payload_spans(d, IKE_HEADER_LEN, msg.payloads.len());
                let mut nodes = Vec::new();
                for (p, (off, len)) in msg.payloads.iter().zip(spans) {
                    let mut pn = describe::payload(p, off, len, &ctx);
                    match &p.body {
                        PayloadBody::Sk(sk) => self.sk_content(
                            &mut pn,
                            d,
                            &msg.header,
                            sk.inner_first,
                            sk.body.len(),
                            &ctx,
                        ),
                        PayloadBody::Skf(f) => {
                            self.skf_content(&mut pn, d, &msg.header, f, item, &ctx)
                        }
                        _ => {}
                    }
                    nodes.push(pn);
                }
                n.push_many("payloads", nodes);
            }
            Err(e) => {
                self.failures += 1;
                n.set("status", "decode_error");
                if let Ok(raw) = RawHeader::decode(d) {
                    let mut h = header_node(&raw.header, d);
                    h.text
                        .push_str(&format!("  first payload {}", raw.next_payload));
                    n.push_one("header", h);
                }
                n.push_one("error", error_node(&e, d, "message", true));
            }
        }
        n
    }

    /// Remembers the KWA negotiated in an IKE_SA_INIT response and those of KEK
    /// policies sent in clear, so SA_KEY sizes can be checked later.
    fn learn_kwas(&mut self, h: &IkeHeader, payloads: &[Payload]) {
        if h.exchange == ExchangeType::IKE_SA_INIT && h.is_response() {
            for p in payloads {
                if let PayloadBody::Sa(sa) = &p.body {
                    if let Some(k) = keymat::ike_kwa(sa) {
                        self.kwas.insert(h.spi_pair(), k);
                    }
                }
            }
        }
        for (spi, kwa) in keymat::kek_kwas(payloads) {
            self.kwas.insert(spi, kwa);
        }
    }

    /// Selects keys and decrypts an SK or SKF body occupying the end of `msg`.
    fn decrypt(&self, msg: &[u8], h: &IkeHeader, body_len: usize) -> Decrypt {
        let Some(k) = self.keys.lookup(&h.spi_i, &h.spi_r) else {
            return Decrypt::NoKeys;
        };
        let dir = if h.exchange == ExchangeType::GSA_REKEY {
            Direction::Rekey
        } else if h.is_initiator() {
            Direction::Initiator
        } else {
            Direction::Responder
        };
        let (encr, integ) = match (&k.encr, &k.integ) {
            (Ok(e), Ok(i)) => (*e, *i),
            (Err(e), _) | (_, Err(e)) => {
                return Decrypt::Unusable(format!("keys from {} cannot be used: {e}", k.origin))
            }
        };
        let (sk_e, sk_a, which) = k.keys_for(dir);
        if sk_e.is_empty() {
            return Decrypt::Unusable(format!(
                "keys from {} have no {} for this direction",
                k.origin,
                which.split(' ').next().unwrap_or(which)
            ));
        }
        let suite = keys::suite_name(encr, integ);
        let prot = match SkProtector::new(encr, integ, sk_e, sk_a) {
            Ok(p) => p,
            Err(e) => {
                return Decrypt::Unusable(format!(
                    "keys from {} ({suite}, {which}) cannot be used: {e}",
                    k.origin
                ))
            }
        };
        let aad_len = msg.len() - body_len;
        match prot.open(&msg[..aad_len], &msg[aad_len..]) {
            Ok(plaintext) => Decrypt::Ok {
                plaintext,
                how: format!("{which} from {} ({suite})", k.origin),
            },
            Err(gikev2::crypto::CryptoError::IcvMismatch) => Decrypt::Failed(format!(
                "ICV check failed with the given keys ({which} from {}, {suite})",
                k.origin
            )),
            Err(e) => Decrypt::Failed(format!(
                "cannot decrypt with {which} from {} ({suite}): {e}",
                k.origin
            )),
        }
    }

    fn no_keys_text(&self, h: &IkeHeader) -> String {
        if self.keys.is_empty() {
            "not decrypted: no keys given (--keys FILE or --sk-ei/--sk-er)".into()
        } else {
            format!(
                "not decrypted: no keys for SPIs {}:{}",
                hex(&h.spi_i),
                hex(&h.spi_r)
            )
        }
    }

    fn sk_content(
        &mut self,
        pn: &mut Node,
        msg: &[u8],
        h: &IkeHeader,
        inner_first: PayloadType,
        body_len: usize,
        ctx: &Ctx,
    ) {
        match self.decrypt(msg, h, body_len) {
            Decrypt::NoKeys => {
                pn.line(self.no_keys_text(h));
                pn.push_one("decryption", status_node("no_keys", None));
            }
            Decrypt::Unusable(e) => {
                pn.line(format!("SK: {e}"));
                pn.push_one("decryption", status_node("unusable_keys", Some(e)));
            }
            Decrypt::Failed(e) => {
                self.failures += 1;
                pn.line(format!("SK: {e}"));
                pn.push_one("decryption", status_node("failed", Some(e)));
            }
            Decrypt::Ok { plaintext, how } => {
                let mut st = status_node("ok", None);
                st.set("key", how.clone());
                st.set("plaintext_length", plaintext.len());
                pn.line(format!(
                    "decrypted with {how}: {} octets of inner payloads",
                    plaintext.len()
                ));
                self.inner(pn, &mut st, inner_first, &plaintext, ctx);
                pn.push_one("decryption", st);
            }
        }
    }

    /// Decodes decrypted inner payloads under `pn`.
    fn inner(&mut self, pn: &mut Node, st: &mut Node, first: PayloadType, plain: &[u8], ctx: &Ctx) {
        if self.show_keys {
            st.set("plaintext", hex(plain));
            pn.line("plaintext:");
            for l in hexdump(plain, 0, plain.len(), None) {
                pn.line(format!("  {l}"));
            }
        }
        match wire::decode_payloads(first, plain) {
            Ok(inner) => {
                let needs = keymat::needs(&inner);
                let ctx = &Ctx {
                    needs: Some(&needs),
                    ..*ctx
                };
                for (spi, kwa) in keymat::kek_kwas(&inner) {
                    self.kwas.insert(spi, kwa);
                }
                let spans = payload_spans(plain, 0, inner.len());
                let nodes: Vec<Node> = inner
                    .iter()
                    .zip(spans)
                    .map(|(p, (off, len))| inner_payload(p, off, len, ctx))
                    .collect();
                pn.push_many("inner", nodes);
            }
            Err(e) => {
                self.failures += 1;
                st.set("status", "inner_decode_error");
                pn.push_one(
                    "error",
                    error_node(&e, plain, "decrypted content", self.show_keys),
                );
            }
        }
    }

    fn skf_content(
        &mut self,
        pn: &mut Node,
        msg: &[u8],
        h: &IkeHeader,
        f: &wire::EncryptedFragment,
        item: &Item<'_>,
        ctx: &Ctx,
    ) {
        let plaintext = match self.decrypt(msg, h, f.body.len()) {
            Decrypt::NoKeys => {
                pn.line(self.no_keys_text(h));
                pn.push_one("decryption", status_node("no_keys", None));
                return;
            }
            Decrypt::Unusable(e) => {
                pn.line(format!("SKF: {e}"));
                pn.push_one("decryption", status_node("unusable_keys", Some(e)));
                return;
            }
            Decrypt::Failed(e) => {
                self.failures += 1;
                pn.line(format!("SKF: {e}"));
                pn.push_one("decryption", status_node("failed", Some(e)));
                return;
            }
            Decrypt::Ok { plaintext, how } => {
                pn.line(format!(
                    "decrypted with {how}: {} octets of fragment content",
                    plaintext.len()
                ));
                plaintext
            }
        };
        let mut st = status_node("ok", None);
        st.set("plaintext_length", plaintext.len());
        if f.fragment_number == 0 || f.fragment_number > f.total_fragments {
            pn.line(format!(
                "fragment number {} is outside 1..={}: not reassembled",
                f.fragment_number, f.total_fragments
            ));
            pn.push_one("decryption", st);
            return;
        }
        let key: FragKey = (
            h.spi_i,
            h.spi_r,
            h.message_id,
            h.flags & (flags::INITIATOR | flags::RESPONSE),
        );
        let where_ = match item.frame {
            Some(fr) => format!("frame {fr}"),
            None => format!("message {}", item.index),
        };
        let state = self.frags.entry(key).or_insert_with(|| FragState {
            total: f.total_fragments,
            inner_first: None,
            parts: HashMap::new(),
        });
        if state.total != f.total_fragments {
            // A retransmission with a different fragmentation restarts reassembly.
            state.total = f.total_fragments;
            state.parts.clear();
            state.inner_first = None;
        }
        if f.fragment_number == 1 {
            state.inner_first = Some(f.inner_first);
        }
        state.parts.insert(f.fragment_number, (where_, plaintext));
        let have = state.parts.len();
        let total = usize::from(state.total);
        if have < total {
            pn.line(format!("reassembly: {have} of {total} fragments so far"));
            st.set("reassembly", format!("{have} of {total}"));
            pn.push_one("decryption", st);
            return;
        }
        let Some(state) = self.frags.remove(&key) else {
            return;
        };
        let mut all = Zeroizing::new(Vec::new());
        let mut from = Vec::new();
        for i in 1..=state.total {
            if let Some((w, p)) = state.parts.get(&i) {
                all.extend_from_slice(p);
                from.push(w.clone());
            }
        }
        let first = state.inner_first.unwrap_or(PayloadType::NONE);
        pn.line(format!(
            "reassembled {} octets from {} fragments ({})",
            all.len(),
            state.total,
            from.join(", ")
        ));
        st.set("reassembled_length", all.len());
        self.inner(pn, &mut st, first, &all, ctx);
        pn.push_one("decryption", st);
    }
}

fn status_node(status: &str, error: Option<String>) -> Node {
    let mut n = Node::new("").field("status", status);
    if let Some(e) = error {
        n.set("error", e);
    }
    n
}

/// An inner payload; nested SK is impossible, so this is a plain description.
fn inner_payload(p: &Payload, off: usize, len: usize, ctx: &Ctx) -> Node {
    describe::payload(p, off, len, ctx)
}

/// SA payloads in a GSA_AUTH or GSA_REGISTRATION request are SAg (RFC 9838 §4.3).
fn is_sag_context(h: &IkeHeader) -> bool {
    matches!(
        h.exchange,
        ExchangeType::GSA_AUTH | ExchangeType::GSA_REGISTRATION
    ) && !h.is_response()
}

/// Offsets and lengths of `n` chained payloads starting at `start`.
fn payload_spans(bytes: &[u8], start: usize, n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(n);
    let mut at = start;
    for _ in 0..n {
        let len = bytes
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .unwrap_or(0);
        out.push((at, len));
        at += len.max(1);
    }
    out
}

/// The IKE header line (RFC 7296 §3.1; GSA_REKEY SPIs per RFC 9838 §4.4.2).
fn header_node(h: &IkeHeader, bytes: &[u8]) -> Node {
    let mut fl = Vec::new();
    if h.flags & flags::INITIATOR != 0 {
        fl.push("I");
    }
    if h.flags & flags::VERSION != 0 {
        fl.push("V");
    }
    if h.flags & flags::RESPONSE != 0 {
        fl.push("R");
    }
    let other = h.flags & !(flags::INITIATOR | flags::VERSION | flags::RESPONSE);
    let flag_text = format!(
        "{} (0x{:02x}{})",
        if fl.is_empty() {
            "-".to_string()
        } else {
            fl.join("")
        },
        h.flags,
        if other != 0 {
            format!(", reserved bits 0x{other:02x} set")
        } else {
            String::new()
        }
    );
    let kind = if h.exchange == ExchangeType::GSA_REKEY {
        ""
    } else if h.is_response() {
        " response"
    } else {
        " request"
    };
    let spis = if h.exchange == ExchangeType::GSA_REKEY {
        format!("Rekey SA SPI {}:{}", hex(&h.spi_i), hex(&h.spi_r))
    } else {
        format!("SPIi {}  SPIr {}", hex(&h.spi_i), hex(&h.spi_r))
    };
    let declared = bytes
        .get(24..28)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let mut n = Node::new(format!(
        "{}{kind}  {spis}  msgid {}  flags {flag_text}  version {}.{}{}",
        h.exchange,
        h.message_id,
        h.version >> 4,
        h.version & 0xf,
        match declared {
            Some(l) => format!("  length {l}"),
            None => String::new(),
        }
    ));
    n.set("spi_i", hex(&h.spi_i));
    n.set("spi_r", hex(&h.spi_r));
    n.set("exchange_type", h.exchange.0);
    n.set("exchange_type_name", h.exchange.name());
    n.set(
        "flags",
        fl.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    n.set("flags_value", h.flags);
    n.set("response", h.is_response());
    n.set("message_id", h.message_id);
    n.set("version", format!("{}.{}", h.version >> 4, h.version & 0xf));
    n.set("length", declared);
    n.set("next_payload", bytes.get(16).map(|b| u32::from(*b)));
    n
}

/// A decode error: the library's message (structure, offset, cause) and an excerpt.
fn error_node(e: &DecodeError, bytes: &[u8], what: &str, dump: bool) -> Node {
    let full = e.to_string();
    let prefix = format!("{} at offset {}: ", e.structure, e.offset);
    let cause = full.strip_prefix(&prefix).unwrap_or(&full).to_string();
    let mut n = Node::new(format!("decode error in the {what}: {full}"));
    n.set("message", full);
    n.set("structure", e.structure.to_string());
    n.set("offset", e.offset);
    n.set("cause", cause);
    n.set("in", what);
    if dump {
        n.line(format!(
            "octets around offset {} (offsets from the start of the {}):",
            e.offset,
            if what == "message" {
                "IKE header"
            } else {
                "decrypted content"
            }
        ));
        let from = e.offset.saturating_sub(32);
        let to = (e.offset + 32).min(bytes.len());
        for l in hexdump(bytes, from, to.max(from), Some(e.offset)) {
            n.line(format!("  {l}"));
        }
    } else {
        n.line("(add --show-keys for a hex dump of the decrypted content)");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_never_panic() {
        assert_eq!(
            payload_spans(&[0, 0, 0, 8, 1, 1, 1, 1], 0, 2),
            vec![(0, 8), (8, 0)]
        );
    }

    #[test]
    fn undecodable_message_reports_offset() {
        let keys = KeyStore::default();
        let mut i = Inspector::new(&keys, false);
        let mut m = vec![1u8; 8];
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[33, 0x20, 34, 0x08, 0, 0, 0, 0, 0, 0, 0, 40]);
        m.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]);
        let item = Item {
            frame: None,
            index: 1,
            ts: None,
            ends: None,
            marker: false,
            data: &m,
            short: None,
        };
        let n = i.message(&item);
        assert_eq!(i.failures, 1);
        let mut s = String::new();
        n.write_tree(&mut s, 0);
        assert!(s.contains("decode error in the message: "), "{s}");
        assert!(s.contains(" at offset "), "{s}");
    }
}
