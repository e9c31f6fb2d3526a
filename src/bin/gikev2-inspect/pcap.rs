//! Capture files: classic pcap (microsecond and nanosecond, both byte orders) and pcapng
//! (SHB, IDB, EPB, SPB and the obsolete PB; other blocks are skipped).
//!
//! Every length read from the file is bounded by what remains; a malformed record
//! becomes an [`Event::Problem`] and reading continues where the format allows it
//! (pcapng blocks carry their own length; a broken pcap record header ends the file).

/// A packet timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds.
    pub nanos: u32,
}

/// One captured packet.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number (as Wireshark counts).
    pub number: usize,
    /// Capture time, if known.
    pub ts: Option<Timestamp>,
    /// LINKTYPE_ value of the interface.
    pub linktype: u32,
    /// The captured octets.
    pub data: &'a [u8],
    /// The record claimed more octets than the file holds (cut-off capture file).
    pub cut: Option<usize>,
}

/// What reading a capture produces, in file order.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// A packet.
    Frame(Frame<'a>),
    /// A problem with the file structure (`frame` is the packet it concerns, if any).
    Problem {
        /// Frame number concerned, if the problem belongs to a packet record.
        frame: Option<usize>,
        /// What is wrong.
        text: String,
    },
}

/// The kind of file, from its first octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap.
    Pcap,
    /// pcapng.
    Pcapng,
    /// Anything else: raw IKE message octets.
    Raw,
}

/// Recognises pcap magic numbers (a1b2c3d4, a1b23c4d in either byte order) and the
/// pcapng Section Header Block type (0a0d0d0a).
pub fn detect(data: &[u8]) -> Format {
    match data.get(..4) {
        Some([0xa1, 0xb2, 0xc3, 0xd4])
        | Some([0xd4, 0xc3, 0xb2, 0xa1])
        | Some([0xa1, 0xb2, 0x3c, 0x4d])
        | Some([0x4d, 0x3c, 0xb2, 0xa1]) => Format::Pcap,
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => Format::Pcapng,
        _ => Format::Raw,
    }
}

/// Sanity bound for one record (larger lengths are corruption, not packets).
const MAX_RECORD: usize = 16 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        let a: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big {
            i64::from_be_bytes(a)
        } else {
            i64::from_le_bytes(a)
        })
    }
}

/// Reads a classic pcap file. `Err` only when the global header itself is unusable.
pub fn read_pcap(data: &[u8]) -> Result<Vec<Event<'_>>, String> {
    if data.len() < 24 {
        return Err(format!(
            "pcap global header truncated: {} of 24 octets",
            data.len()
        ));
    }
    let (e, nanos) = match &data[..4] {
        [0xa1, 0xb2, 0xc3, 0xd4] => (Endian { big: true }, false),
        [0xd4, 0xc3, 0xb2, 0xa1] => (Endian { big: false }, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Endian { big: true }, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Endian { big: false }, true),
        _ => return Err("not a pcap file".into()),
    };
    // The link-layer header type is the low 16 bits; the upper bits may carry FCS info.
    let linktype = e.u32(data, 20).unwrap_or(0) & 0xffff;
    let mut out = Vec::new();
    let mut pos = 24;
    let mut number = 0;
    while pos < data.len() {
        number += 1;
        let rest = &data[pos..];
        if rest.len() < 16 {
            out.push(Event::Problem {
                frame: Some(number),
                text: format!(
                    "pcap record header truncated at file offset {pos}: {} of 16 octets",
                    rest.len()
                ),
            });
            break;
        }
        let (Some(sec), Some(frac), Some(incl)) = (e.u32(rest, 0), e.u32(rest, 4), e.u32(rest, 8))
        else {
            break;
        };
        let incl = incl as usize;
        if incl > MAX_RECORD {
            out.push(Event::Problem {
                frame: Some(number),
                text: format!(
                    "pcap record at file offset {pos} claims {incl} captured octets; \
                     the file is corrupt from here on"
                ),
            });
            break;
        }
        let avail = rest.len() - 16;
        let take = incl.min(avail);
        let nanos_v = if nanos {
            frac.min(999_999_999)
        } else {
            frac.min(999_999).saturating_mul(1000)
        };
        out.push(Event::Frame(Frame {
            number,
            ts: Some(Timestamp {
                secs: i64::from(sec),
                nanos: nanos_v,
            }),
            linktype,
            data: &rest[16..16 + take],
            cut: (take < incl).then_some(incl),
        }));
        pos += 16 + take;
    }
    Ok(out)
}

/// An interface described by an IDB.
#[derive(Clone, Copy)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp resolution: (is a power of two, exponent).
    tsresol: (bool, u8),
    tsoffset: i64,
}

impl Interface {
    fn timestamp(&self, units: u64) -> Timestamp {
        let (binary, exp) = self.tsresol;
        let (secs, nanos) = if binary {
            let exp = u32::from(exp.min(63));
            let secs = units >> exp;
            let frac = units & ((1u64 << exp) - 1);
            let nanos = ((u128::from(frac) * 1_000_000_000) >> exp) as u32;
            (secs, nanos)
        } else {
            let exp = u32::from(exp.min(19));
            let div = 10u64.pow(exp);
            let secs = units / div;
            let frac = units % div;
            let nanos = if exp <= 9 {
                frac * 10u64.pow(9 - exp)
            } else {
                frac / 10u64.pow(exp - 9)
            };
            (secs, nanos as u32)
        };
        Timestamp {
            secs: i64::try_from(secs)
                .unwrap_or(i64::MAX)
                .saturating_add(self.tsoffset),
            nanos,
        }
    }
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Reads a pcapng file. `Err` only when the first Section Header Block is unusable.
pub fn read_pcapng(data: &[u8]) -> Result<Vec<Event<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut number = 0;
    let mut e = Endian { big: false };
    let mut ifaces: Vec<Interface> = Vec::new();
    let mut first = true;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 12 {
            let text = format!(
                "pcapng block header truncated at file offset {pos}: {} of 12 octets",
                rest.len()
            );
            if first {
                return Err(text);
            }
            out.push(Event::Problem { frame: None, text });
            break;
        }
        let btype = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if btype == SHB {
            match &rest[8..12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => e = Endian { big: true },
                [0x4d, 0x3c, 0x2b, 0x1a] => e = Endian { big: false },
                _ => {
                    let text = format!(
                        "pcapng Section Header Block at file offset {pos}: bad byte-order magic {}",
                        crate::render::hex(&rest[8..12])
                    );
                    if first {
                        return Err(text);
                    }
                    out.push(Event::Problem { frame: None, text });
                    break;
                }
            }
            ifaces.clear();
        } else if first {
            return Err("pcapng file does not start with a Section Header Block".into());
        }
        first = false;
        let btype = e.u32(rest, 0).unwrap_or(0);
        let blen = e.u32(rest, 4).unwrap_or(0) as usize;
        if blen < 12 || blen % 4 != 0 || blen > rest.len() {
            let what = if blen > rest.len() {
                format!(
                    "claims {blen} octets but only {} remain (file cut off)",
                    rest.len()
                )
            } else {
                format!("has an invalid Block Total Length {blen}")
            };
            // A packet block cut off at the end still carries a usable prefix.
            if blen > rest.len() && matches!(btype, EPB | SPB | OPB) {
                number += 1;
                if let Some(f) = packet_block(btype, e, &rest[8..], &ifaces, number) {
                    match f {
                        Ok(f) => {
                            out.push(Event::Problem {
                                frame: Some(number),
                                text: format!("pcapng block at file offset {pos} {what}"),
                            });
                            out.push(Event::Frame(f));
                        }
                        Err(text) => out.push(Event::Problem {
                            frame: Some(number),
                            text: format!("pcapng block at file offset {pos} {what}; {text}"),
                        }),
                    }
                    break;
                }
            }
            out.push(Event::Problem {
                frame: None,
                text: format!(
                    "pcapng block at file offset {pos} {what}; the rest of the file is skipped"
                ),
            });
            break;
        }
        let body = &rest[8..blen - 4];
        match btype {
            SHB => {}
            IDB => {
                match interface_block(e, body) {
                    Some(i) => ifaces.push(i),
                    None => {
                        out.push(Event::Problem {
                        frame: None,
                        text: format!("pcapng Interface Description Block at file offset {pos} is truncated"),
                    });
                        // Keep interface numbering aligned.
                        ifaces.push(Interface {
                            linktype: u32::MAX,
                            snaplen: 0,
                            tsresol: (false, 6),
                            tsoffset: 0,
                        });
                    }
                }
            }
            EPB | SPB | OPB => {
                number += 1;
                match packet_block(btype, e, body, &ifaces, number) {
                    Some(Ok(f)) => out.push(Event::Frame(f)),
                    Some(Err(text)) => out.push(Event::Problem {
                        frame: Some(number),
                        text: format!("pcapng block at file offset {pos}: {text}"),
                    }),
                    None => {}
                }
            }
            _ => {}
        }
        pos += blen;
    }
    Ok(out)
}

fn interface_block(e: Endian, body: &[u8]) -> Option<Interface> {
    let linktype = u32::from(e.u16(body, 0)?);
    let snaplen = e.u32(body, 4)?;
    let mut iface = Interface {
        linktype,
        snaplen,
        tsresol: (false, 6),
        tsoffset: 0,
    };
    let mut at = 8;
    while at + 4 <= body.len() {
        let code = e.u16(body, at)?;
        let len = usize::from(e.u16(body, at + 2)?);
        if code == 0 {
            break;
        }
        let Some(value) = body.get(at + 4..at + 4 + len) else {
            break;
        };
        match (code, value) {
            (9, [r]) => iface.tsresol = (r & 0x80 != 0, r & 0x7f),
            (14, v) if v.len() == 8 => iface.tsoffset = e.i64(v, 0).unwrap_or(0),
            _ => {}
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(iface)
}

/// Decodes EPB, SPB or the obsolete PB; `body` may be cut short (end of file).
fn packet_block<'a>(
    btype: u32,
    e: Endian,
    body: &'a [u8],
    ifaces: &[Interface],
    number: usize,
) -> Option<Result<Frame<'a>, String>> {
    let (iface_id, ts_units, caplen, data_at) = match btype {
        EPB => {
            let (Some(i), Some(hi), Some(lo), Some(cap)) = (
                e.u32(body, 0),
                e.u32(body, 4),
                e.u32(body, 8),
                e.u32(body, 12),
            ) else {
                return Some(Err("Enhanced Packet Block truncated".into()));
            };
            (
                i as usize,
                Some((u64::from(hi) << 32) | u64::from(lo)),
                cap as usize,
                20,
            )
        }
        OPB => {
            let (Some(i), Some(hi), Some(lo), Some(cap)) = (
                e.u16(body, 0),
                e.u32(body, 4),
                e.u32(body, 8),
                e.u32(body, 12),
            ) else {
                return Some(Err("Packet Block truncated".into()));
            };
            (
                usize::from(i),
                Some((u64::from(hi) << 32) | u64::from(lo)),
                cap as usize,
                20,
            )
        }
        _ => {
            let Some(orig) = e.u32(body, 0) else {
                return Some(Err("Simple Packet Block truncated".into()));
            };
            let orig = orig as usize;
            let snap = ifaces
                .first()
                .map(|i| i.snaplen as usize)
                .filter(|s| *s > 0)
                .unwrap_or(usize::MAX);
            (0, None, orig.min(snap), 4)
        }
    };
    if body.len() < data_at {
        return Some(Err(format!(
            "packet block truncated: {} octets, the fixed part needs {data_at}",
            body.len()
        )));
    }
    let Some(iface) = ifaces.get(iface_id) else {
        return Some(Err(format!(
            "packet refers to interface {iface_id}, but only {} are described",
            ifaces.len()
        )));
    };
    let avail = body.len().saturating_sub(data_at);
    let (take, cut) = if caplen > avail {
        // For SPB the captured length is implied by the block length.
        if btype == SPB {
            (avail, None)
        } else {
            (avail, Some(caplen))
        }
    } else {
        (caplen, None)
    };
    Some(Ok(Frame {
        number,
        ts: ts_units.map(|u| iface.timestamp(u)),
        linktype: iface.linktype,
        data: &body[data_at..data_at + take],
        cut,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_le(records: &[&[u8]], nanos: bool) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(if nanos {
            &[0x4d, 0x3c, 0xb2, 0xa1]
        } else {
            &[0xd4, 0xc3, 0xb2, 0xa1]
        });
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&101u32.to_le_bytes());
        for (i, r) in records.iter().enumerate() {
            v.extend_from_slice(&(100 + i as u32).to_le_bytes());
            v.extend_from_slice(&5u32.to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(r);
        }
        v
    }

    #[test]
    fn pcap_records_and_cut_file() {
        let f = pcap_le(&[b"abc", b"defgh"], false);
        assert_eq!(detect(&f), Format::Pcap);
        let ev = read_pcap(&f).unwrap();
        assert_eq!(ev.len(), 2);
        let Event::Frame(fr) = &ev[1] else { panic!() };
        assert_eq!(fr.number, 2);
        assert_eq!(fr.data, b"defgh");
        assert_eq!(fr.linktype, 101);
        assert_eq!(
            fr.ts,
            Some(Timestamp {
                secs: 101,
                nanos: 5000
            })
        );
        let cut = &f[..f.len() - 2];
        let ev = read_pcap(cut).unwrap();
        let Event::Frame(fr) = &ev[1] else { panic!() };
        assert_eq!(fr.data, b"def");
        assert_eq!(fr.cut, Some(5));
        // Every prefix is handled without panicking.
        for n in 0..f.len() {
            let _ = read_pcap(&f[..n]);
        }
        let ns = pcap_le(&[b"x"], true);
        let Event::Frame(fr) = &read_pcap(&ns).unwrap()[0] else {
            panic!()
        };
        assert_eq!(fr.ts.unwrap().nanos, 5);
    }

    #[test]
    fn pcapng_resolution() {
        let i = Interface {
            linktype: 1,
            snaplen: 0,
            tsresol: (false, 9),
            tsoffset: 0,
        };
        assert_eq!(
            i.timestamp(1_500_000_001),
            Timestamp {
                secs: 1,
                nanos: 500_000_001
            }
        );
        let b = Interface {
            tsresol: (true, 1),
            ..i
        };
        assert_eq!(
            b.timestamp(3),
            Timestamp {
                secs: 1,
                nanos: 500_000_000
            }
        );
    }

    #[test]
    fn pcapng_garbage_never_panics() {
        let mut v = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
        v.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&[6, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 2, 3]);
        for n in 0..v.len() {
            let _ = read_pcapng(&v[..n]);
        }
        let ev = read_pcapng(&v).unwrap();
        assert!(ev.iter().any(|e| matches!(e, Event::Problem { .. })));
    }
}
