//! `gikev2-inspect`: the operator's inspector for IKEv2 and G-IKEv2 (RFC 9838) traffic.
//!
//! Reads messages from a capture (pcap, pcapng), raw octets or hex, decodes them with
//! [`gikev2::wire`], decrypts SK payloads with keys from a Wireshark
//! `ikev2_decryption_table` or the command line, and prints a tree or JSON.
//! See `--help` (the text is in [`cli::USAGE`]).

#![forbid(unsafe_code)]

mod cli;
mod der;
mod describe;
mod input;
mod inspect;
mod keymat;
mod keys;
mod net;
mod pcap;
mod render;

use cli::{Command, Input, Options};
use input::Entry;
use keys::{KeyStore, SaKeys};
use render::{format_time, Json, Node};
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// Exit status: a usage or input error.
const EXIT_USAGE: i32 = 2;
/// Exit status: some message failed to decode or decrypt.
const EXIT_FAILED: i32 = 1;

fn main() {
    std::process::exit(run(std::env::args_os().skip(1)));
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("gikev2-inspect: {msg}");
    EXIT_USAGE
}

fn write_stdout(s: &str) {
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let opts = match cli::parse(args) {
        Ok(Command::Run(o)) => o,
        Ok(Command::Help) => {
            write_stdout(cli::USAGE);
            return 0;
        }
        Ok(Command::Version) => {
            write_stdout(&format!("gikev2-inspect {}\n", env!("CARGO_PKG_VERSION")));
            return 0;
        }
        Err(e) => return fail(e),
    };
    let keys = match load_keys(&opts) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let (data, name) = match read_input(&opts) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    match render_output(&data, &name, &keys, opts.show_keys, opts.json) {
        Ok((out, failed)) => {
            write_stdout(&out);
            if failed {
                EXIT_FAILED
            } else {
                0
            }
        }
        Err(e) => fail(format!("{name}: {e}")),
    }
}

/// Decodes `data` and renders the tree or the JSON document; the flag is true if any
/// message failed (exit status 1). `Err` when the input is unusable as a whole.
fn render_output(
    data: &[u8],
    name: &str,
    keys: &KeyStore,
    show_keys: bool,
    json: bool,
) -> Result<(String, bool), String> {
    let loaded = input::load(data)?;
    let mut insp = inspect::Inspector::new(keys, show_keys);
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    let mut tree = String::new();
    let mut capture_errors = 0;
    for entry in &loaded.entries {
        match entry {
            Entry::Message(item) => {
                let n = insp.message(item);
                if !json {
                    n.write_tree(&mut tree, 0);
                    tree.push('\n');
                }
                messages.push(n);
            }
            Entry::Note(note) => {
                if note.error {
                    capture_errors += 1;
                }
                let mut n = Node::new(match note.frame {
                    Some(f) => format!("frame {f}: {}", note.text),
                    None => format!("capture: {}", note.text),
                });
                n.set("frame", note.frame);
                if let Some(ts) = note.ts {
                    n.set("time", format_time(ts.secs, ts.nanos).1);
                }
                n.set("kind", if note.error { "error" } else { "skipped" });
                if let Some(e) = &note.ends {
                    n.set("src", e.src.to_string());
                    n.set("sport", e.sport);
                    n.set("dst", e.dst.to_string());
                    n.set("dport", e.dport);
                }
                n.set("text", note.text.clone());
                if !json {
                    n.write_tree(&mut tree, 0);
                    tree.push('\n');
                }
                notes.push(n);
            }
        }
    }
    let failed = insp.failures + capture_errors > 0;
    let summary_text = summary(&loaded, insp.messages, insp.failures, capture_errors);
    if json {
        let doc = Json::Obj(vec![
            (
                "input".into(),
                Json::Obj(vec![
                    ("name".into(), Json::from(name)),
                    ("format".into(), Json::from(loaded.format)),
                ]),
            ),
            (
                "messages".into(),
                Json::Arr(messages.iter().map(Node::to_json).collect()),
            ),
            (
                "notes".into(),
                Json::Arr(notes.iter().map(Node::to_json).collect()),
            ),
            (
                "summary".into(),
                Json::Obj(vec![
                    ("frames".into(), Json::from(loaded.frames)),
                    ("ike_messages".into(), Json::from(insp.messages)),
                    ("failed".into(), Json::from(insp.failures)),
                    ("capture_errors".into(), Json::from(capture_errors)),
                    ("other_frames".into(), Json::from(loaded.other)),
                    ("text".into(), Json::from(summary_text)),
                ]),
            ),
        ]);
        let mut s = String::new();
        doc.write_pretty(&mut s, 0);
        s.push('\n');
        Ok((s, failed))
    } else {
        tree.push_str(&summary_text);
        tree.push('\n');
        Ok((tree, failed))
    }
}

fn summary(l: &input::Loaded<'_>, msgs: usize, failed: usize, capture_errors: usize) -> String {
    let mut s = match l.format {
        "raw" => format!("{msgs} IKE message{}", if msgs == 1 { "" } else { "s" }),
        f => format!(
            "{f}: {} frame{}, {msgs} IKE message{}",
            l.frames,
            if l.frames == 1 { "" } else { "s" },
            if msgs == 1 { "" } else { "s" }
        ),
    };
    if failed > 0 {
        s.push_str(&format!(", {failed} failed to decode or decrypt"));
    }
    if capture_errors > 0 {
        s.push_str(&format!(", {capture_errors} capture problem(s)"));
    }
    if l.other > 0 {
        s.push_str(&format!(", {} other frame(s) not shown", l.other));
    }
    s
}

fn read_input(o: &Options) -> Result<(Vec<u8>, String), String> {
    match o.input.as_ref() {
        Some(Input::File(path)) => std::fs::read(path)
            .map(|d| (d, path.clone()))
            .map_err(|e| format!("cannot read {path}: {e}")),
        Some(Input::Stdin) => {
            let mut d = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut d)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok((d, "-".into()))
        }
        Some(Input::Hex(h)) => keys::parse_hex(h)
            .map(|d| (d, "--hex".into()))
            .map_err(|e| format!("--hex: {e}")),
        None => Err("no input".into()),
    }
}

fn load_keys(o: &Options) -> Result<KeyStore, String> {
    let mut store = KeyStore::default();
    if let Some(path) = &o.keys_file {
        let text = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let text = Zeroizing::new(String::from_utf8_lossy(&text).into_owned());
        for k in keys::parse_table(&text, path)? {
            store.push(k);
        }
    }
    if let Some(encr) = &o.encr {
        let hexkey = |v: &Option<String>, what: &str| -> Result<Zeroizing<Vec<u8>>, String> {
            match v {
                None => Ok(Zeroizing::new(Vec::new())),
                Some(h) => keys::parse_hex(h)
                    .map(Zeroizing::new)
                    .map_err(|e| format!("{what}: {e}")),
            }
        };
        let spis = o.spi.as_deref().map(keys::parse_spi_pair).transpose()?;
        store.push(SaKeys {
            origin: "the command line".into(),
            spis,
            encr: Ok(keys::parse_encr_cli(encr)?),
            integ: Ok(match &o.integ {
                Some(i) => keys::parse_integ_cli(i)?,
                None => None,
            }),
            sk_ei: hexkey(&o.sk_ei, "--sk-ei")?,
            sk_er: hexkey(&o.sk_er, "--sk-er")?,
            sk_ai: hexkey(&o.sk_ai, "--sk-ai")?,
            sk_ar: hexkey(&o.sk_ar, "--sk-ar")?,
        });
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = include_bytes!("../../../tests/data/gikev2-sample.pcap");
    const KEYS: &str = include_str!("../../../tests/data/gikev2-sample.keys");

    /// The sample's frames as pcapng (SHB, IDB, EPBs).
    fn to_pcapng(pcap: &[u8]) -> Vec<u8> {
        fn block(out: &mut Vec<u8>, t: u32, body: &[u8]) {
            let len = 12 + body.len().div_ceil(4) * 4;
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(body);
            out.resize(out.len() + (len - 12 - body.len()), 0);
            out.extend_from_slice(&(len as u32).to_le_bytes());
        }
        let mut out = Vec::new();
        block(
            &mut out,
            0x0a0d_0d0a,
            &[
                0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        );
        block(&mut out, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        let Ok(events) = pcap::read_pcap(pcap) else {
            return out;
        };
        for e in events {
            if let pcap::Event::Frame(f) = e {
                let ts =
                    f.ts.map(|t| t.secs as u64 * 1_000_000 + u64::from(t.nanos / 1000))
                        .unwrap_or(0);
                let mut b = Vec::new();
                b.extend_from_slice(&0u32.to_le_bytes());
                b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
                b.extend_from_slice(&(ts as u32).to_le_bytes());
                b.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
                b.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
                b.extend_from_slice(f.data);
                block(&mut out, 6, &b);
            }
        }
        out
    }

    /// Deterministic xorshift64*.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn sample_decodes_cleanly() {
        let mut store = KeyStore::default();
        for k in keys::parse_table(KEYS, "keys").unwrap() {
            store.push(k);
        }
        let (out, failed) = render_output(SAMPLE, "s", &store, false, false).unwrap();
        assert!(!failed, "{out}");
        let (ng, failed) = render_output(&to_pcapng(SAMPLE), "s", &store, false, false).unwrap();
        assert!(!failed, "{ng}");
        assert_eq!(out.replace("pcap:", "X"), ng.replace("pcapng:", "X"));
    }

    /// Mutated captures (bit flips, smashed length fields, truncation) never panic,
    /// with and without keys, as a tree and as JSON.
    #[test]
    fn mutated_captures_never_panic() {
        let mut store = KeyStore::default();
        for k in keys::parse_table(KEYS, "keys").unwrap() {
            store.push(k);
        }
        let empty = KeyStore::default();
        let bases = [SAMPLE.to_vec(), to_pcapng(SAMPLE)];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for i in 0..3000 {
            let mut d = bases[i % 2].clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(d.len());
                match rng.below(4) {
                    0 => d[at] ^= 1 << rng.below(8),
                    1 => d[at] = 0xff,
                    2 => d[at] = 0,
                    _ => {
                        let keep = rng.below(d.len());
                        d.truncate(keep.max(1));
                    }
                }
            }
            let k = if i % 3 == 0 { &empty } else { &store };
            let _ = render_output(&d, "m", k, i % 5 == 0, i % 7 == 0);
        }
    }
}
