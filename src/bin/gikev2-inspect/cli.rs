//! Command-line parsing (hand-written; the crate has no CLI dependency) and `--help`.

use std::ffi::OsString;

/// Where the message octets come from.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// A file: pcap, pcapng or raw message octets.
    File(String),
    /// Standard input (`-`), detected the same way.
    Stdin,
    /// `--hex`.
    Hex(String),
}

/// Parsed options.
#[derive(Debug, Default)]
pub struct Options {
    /// The input.
    pub input: Option<Input>,
    /// `--keys FILE`.
    pub keys_file: Option<String>,
    /// `--sk-ei HEX`.
    pub sk_ei: Option<String>,
    /// `--sk-er HEX`.
    pub sk_er: Option<String>,
    /// `--sk-ai HEX`.
    pub sk_ai: Option<String>,
    /// `--sk-ar HEX`.
    pub sk_ar: Option<String>,
    /// `--encr NAME`.
    pub encr: Option<String>,
    /// `--integ NAME`.
    pub integ: Option<String>,
    /// `--spi SPIi:SPIr`.
    pub spi: Option<String>,
    /// `--show-keys`.
    pub show_keys: bool,
    /// `--json`.
    pub json: bool,
}

/// What to do.
#[derive(Debug)]
pub enum Command {
    /// Inspect.
    Run(Box<Options>),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// The `--help` text.
pub const USAGE: &str = "\
gikev2-inspect: decode IKEv2 / G-IKEv2 (RFC 9838) messages for troubleshooting

USAGE
  gikev2-inspect [OPTIONS] FILE       pcap, pcapng or raw message octets
  gikev2-inspect [OPTIONS] -          the same, from standard input
  gikev2-inspect [OPTIONS] --hex HEX  one message (or several back to back) in hex

Captures: UDP to or from port 500, 848 or 4500 over Ethernet (with VLAN tags), raw
IP, Linux SLL/SLL2 or loopback. On port 4500 the non-ESP marker is removed; ESP,
NAT-keepalives and IP fragments are reported and skipped; IKEv1/GDOI is recognised
and skipped.

OPTIONS
  --hex HEX            message octets in hex; whitespace, ':' and a leading 0x are
                       allowed
  --keys FILE          decryption keys in Wireshark's ikev2_decryption_table format,
                       one IKE SA (or Rekey SA) per line:
                       SPIi,SPIr,SK_ei,SK_er,\"<encryption>\",SK_ai,SK_ar,\"<integrity>\"
                       e.g. \"AES-GCM-256 with 16 octet ICV [RFC5282]\", \"AES-CBC-128
                       [RFC3602]\", \"HMAC_SHA2_256_128 [RFC4868]\", \"NONE [RFC4306]\"
                       (strongSwan's save-keys plugin writes this file)
  --sk-ei HEX, --sk-er HEX, --sk-ai HEX, --sk-ar HEX
                       keys given directly; they apply to every SA, or to --spi
  --encr ALG           with --sk-*: aes-gcm-16-128|192|256 or aes-cbc-128|192|256
  --integ ALG          with --sk-*: hmac-sha2-256-128|384-192|512-256 or none
                       (default none, for AES-GCM)
  --spi SPIi:SPIr      restrict the --sk-* keys to one SA (16 hex digits each)
  --show-keys          show key-like octets (KE data, nonces, AUTH data, wrapped
                       keys, AUTH_KEY, decrypted plaintext) in hex; by default only
                       their lengths are shown
  --json               one JSON document instead of the tree
  -h, --help           this text
  -V, --version        version

Which key decrypts which message: the I flag selects SK_ei/SK_ai, otherwise
SK_er/SK_ar. GSA_REKEY (exchange 41) is protected with the Rekey SA's GSK_e/GSK_a:
give a line whose SPIs are the two halves of the 16-octet Rekey SA SPI and whose
SK_ei (and SK_ai, if not AEAD) hold GSK_e (and GSK_a).

EXIT STATUS
  0  every IKE message decoded (and, where keys matched, decrypted)
  1  at least one message failed to decode, its SK payload failed to decrypt or
     its decrypted content failed to decode, or a frame of the capture is malformed
  2  usage error, unreadable input or keys file

JSON (--json): {\"input\", \"messages\": [...], \"notes\": [...], \"summary\"}
  message:  frame | index, time (RFC 3339), src, sport, dst, dport, non_esp_marker,
            length, status (ok | decode_error | skipped), header, payloads, error
  header:   spi_i, spi_r, exchange_type, exchange_type_name, flags [I V R],
            flags_value, response, message_id, version, length, next_payload
  payload:  name (SAg, IDg, N(GROUP_SENDER), ...), payload_type,
            payload_type_name, critical, offset, length, and per type e.g.
            proposals[].transforms[], policies[] (kind kek | tek | gw, spi, src_ts,
            dst_ts, transforms, attributes), key_bags[] (kind group | member,
            attributes[] with key_id, kwk_id, wrapped_length), notify_type,
            sender_id_count, id_type, value, method, algorithm, data_length;
            SK/SKF: encrypted_length, inner_first, decryption {status: ok |
            no_keys | unusable_keys | failed | inner_decode_error, key, error},
            inner [payloads]
  error:    message, structure, offset, cause, in
  Every code point X appears as X (number) and X_name (IANA name or null). Octets
  are lower-case hex; key-like octets only with --show-keys.

EXAMPLES
  gikev2-inspect group.pcapng
  gikev2-inspect --keys /var/run/ikev2_decryption_table group.pcap
  gikev2-inspect --sk-ei 00112233... --sk-er 44556677... --encr aes-gcm-16-256 cap.pcap
  gikev2-inspect --hex '0123456789abcdef 0000000000000000 2120 2208 ...'
  tcpdump -i eth0 -w - udp port 848 | gikev2-inspect --json -
";

fn value(
    name: &str,
    inline: Option<String>,
    it: &mut impl Iterator<Item = OsString>,
) -> Result<String, String> {
    if let Some(v) = inline {
        return Ok(v);
    }
    let v = it
        .next()
        .ok_or_else(|| format!("{name} needs a value (see --help)"))?;
    v.into_string()
        .map_err(|_| format!("{name}: the value is not valid UTF-8"))
}

fn set_once(slot: &mut Option<String>, name: &str, v: String) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} given twice"));
    }
    *slot = Some(v);
    Ok(())
}

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    let mut only_positional = false;
    while let Some(arg) = it.next() {
        let Some(a) = arg.to_str().map(str::to_string) else {
            if o.input.is_some() {
                return Err("more than one input given".into());
            }
            o.input = Some(Input::File(arg.to_string_lossy().into_owned()));
            continue;
        };
        if only_positional || a == "-" || !a.starts_with('-') {
            if o.input.is_some() {
                return Err(format!("more than one input given ({a:?})"));
            }
            o.input = Some(if a == "-" && !only_positional {
                Input::Stdin
            } else {
                Input::File(a)
            });
            continue;
        }
        if a == "--" {
            only_positional = true;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--json" => o.json = true,
            "--show-keys" => o.show_keys = true,
            "--hex" => {
                let v = value(&name, inline, &mut it)?;
                if o.input.is_some() {
                    return Err("--hex and an input file cannot be combined".into());
                }
                o.input = Some(Input::Hex(v));
            }
            "--keys" => set_once(&mut o.keys_file, &name, value(&name, inline, &mut it)?)?,
            "--sk-ei" => set_once(&mut o.sk_ei, &name, value(&name, inline, &mut it)?)?,
            "--sk-er" => set_once(&mut o.sk_er, &name, value(&name, inline, &mut it)?)?,
            "--sk-ai" => set_once(&mut o.sk_ai, &name, value(&name, inline, &mut it)?)?,
            "--sk-ar" => set_once(&mut o.sk_ar, &name, value(&name, inline, &mut it)?)?,
            "--encr" => set_once(&mut o.encr, &name, value(&name, inline, &mut it)?)?,
            "--integ" => set_once(&mut o.integ, &name, value(&name, inline, &mut it)?)?,
            "--spi" => set_once(&mut o.spi, &name, value(&name, inline, &mut it)?)?,
            _ => return Err(format!("unknown option {name} (see --help)")),
        }
    }
    if o.input.is_none() {
        return Err(
            "no input: give a FILE, - for standard input, or --hex HEX (see --help)".into(),
        );
    }
    let any_sk = o.sk_ei.is_some() || o.sk_er.is_some() || o.sk_ai.is_some() || o.sk_ar.is_some();
    if any_sk && o.encr.is_none() {
        return Err("--sk-ei/--sk-er need --encr (e.g. --encr aes-gcm-16-256)".into());
    }
    if !any_sk && (o.encr.is_some() || o.integ.is_some() || o.spi.is_some()) {
        return Err("--encr, --integ and --spi apply to keys given with --sk-ei/--sk-er".into());
    }
    Ok(Command::Run(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses() {
        let Ok(Command::Run(o)) = p(&["--json", "--keys=k.txt", "cap.pcap"]) else {
            panic!()
        };
        assert!(o.json);
        assert_eq!(o.keys_file.as_deref(), Some("k.txt"));
        assert_eq!(o.input, Some(Input::File("cap.pcap".into())));
        assert!(matches!(p(&["-"]), Ok(Command::Run(o)) if o.input == Some(Input::Stdin)));
        assert!(p(&[]).is_err());
        assert!(p(&["a", "b"]).is_err());
        assert!(p(&["--bogus", "a"])
            .unwrap_err()
            .contains("unknown option --bogus"));
        assert!(p(&["--sk-ei", "00", "a"]).unwrap_err().contains("--encr"));
        assert!(matches!(p(&["--help"]), Ok(Command::Help)));
        assert!(p(&["--hex"]).unwrap_err().contains("needs a value"));
    }
}
