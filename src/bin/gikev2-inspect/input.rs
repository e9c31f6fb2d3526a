//! Turns the input (capture file, raw message octets or hex) into a list of IKE
//! messages and notes about frames that are not decoded.

use crate::inspect::Item;
use crate::net::{self, Content, Endpoints};
use crate::pcap::{self, Event, Format, Timestamp};
use gikev2::wire::{RawHeader, IKE_HEADER_LEN};
use std::collections::BTreeSet;

/// A note about a frame that is not an IKE message.
pub struct Note {
    /// Frame number, if the note concerns one frame.
    pub frame: Option<usize>,
    /// Capture time.
    pub ts: Option<Timestamp>,
    /// What it is.
    pub text: String,
    /// A malformed capture (counts as a failure) rather than traffic that is skipped.
    pub error: bool,
    /// Addresses and ports, when known.
    pub ends: Option<Endpoints>,
}

/// One entry of the output, in input order.
pub enum Entry<'a> {
    /// An IKE message.
    Message(Item<'a>),
    /// A frame that is skipped or malformed.
    Note(Note),
}

/// Everything read from the input.
pub struct Loaded<'a> {
    /// The kind of input (`pcap`, `pcapng`, `raw`).
    pub format: &'static str,
    /// Entries in order.
    pub entries: Vec<Entry<'a>>,
    /// Packet records in the capture.
    pub frames: usize,
    /// Frames that are not IKE traffic (not shown).
    pub other: usize,
}

/// Reads a capture or raw message octets, detected by the magic number.
pub fn load(data: &[u8]) -> Result<Loaded<'_>, String> {
    match pcap::detect(data) {
        Format::Pcap => Ok(from_events(
            "pcap",
            pcap::read_pcap(data).map_err(|e| format!("pcap: {e}"))?,
        )),
        Format::Pcapng => Ok(from_events(
            "pcapng",
            pcap::read_pcapng(data).map_err(|e| format!("pcapng: {e}"))?,
        )),
        Format::Raw => {
            if data.is_empty() {
                return Err("the input is empty".into());
            }
            Ok(from_raw(data))
        }
    }
}

fn from_events<'a>(format: &'static str, events: Vec<Event<'a>>) -> Loaded<'a> {
    let mut out = Loaded {
        format,
        entries: Vec::new(),
        frames: 0,
        other: 0,
    };
    let mut warned_links = BTreeSet::new();
    for ev in events {
        match ev {
            Event::Problem { frame, text } => out.entries.push(Entry::Note(Note {
                frame,
                ts: None,
                text,
                error: true,
                ends: None,
            })),
            Event::Frame(f) => {
                out.frames += 1;
                if let Some(claimed) = f.cut {
                    out.entries.push(Entry::Note(Note {
                        frame: Some(f.number),
                        ts: f.ts,
                        text: format!(
                            "the capture file ends inside this record ({} of {claimed} octets present); decoding what is there",
                            f.data.len()
                        ),
                        error: true,
                        ends: None,
                    }));
                }
                match net::decode(f.linktype, f.data) {
                    Content::Ike {
                        ends,
                        marker,
                        data,
                        short,
                    } => out.entries.push(Entry::Message(Item {
                        frame: Some(f.number),
                        index: 0,
                        ts: f.ts,
                        ends: Some(ends),
                        marker,
                        data,
                        short,
                    })),
                    Content::Skipped { ends, text } => out.entries.push(Entry::Note(Note {
                        frame: Some(f.number),
                        ts: f.ts,
                        text,
                        error: false,
                        ends,
                    })),
                    Content::Malformed(text) => out.entries.push(Entry::Note(Note {
                        frame: Some(f.number),
                        ts: f.ts,
                        text,
                        error: true,
                        ends: None,
                    })),
                    Content::UnsupportedLink(l) => {
                        out.other += 1;
                        if warned_links.insert(l) {
                            out.entries.push(Entry::Note(Note {
                                frame: Some(f.number),
                                ts: f.ts,
                                text: format!(
                                    "link type {l} is not supported (Ethernet, raw IP, Linux SLL/SLL2 and loopback are); frames of this type are skipped"
                                ),
                                error: true,
                                ends: None,
                            }));
                        }
                    }
                    Content::Other => out.other += 1,
                }
            }
        }
    }
    out
}

/// True if `d` starts with something that parses as an IKE header whose Length fits.
fn looks_like_message(d: &[u8]) -> Option<usize> {
    let h = RawHeader::decode(d).ok()?;
    let len = h.length as usize;
    (len >= IKE_HEADER_LEN && len <= d.len()).then_some(len)
}

/// Raw octets: one message, optionally after a non-ESP marker, or several messages
/// back to back (split where the next octets again parse as an IKE header).
fn from_raw(data: &[u8]) -> Loaded<'_> {
    let mut out = Loaded {
        format: "raw",
        entries: Vec::new(),
        frames: 0,
        other: 0,
    };
    let mut rest = data;
    let mut marker = false;
    if rest.len() > 4 + IKE_HEADER_LEN
        && rest[..4] == [0, 0, 0, 0]
        && looks_like_message(&rest[4..]).is_some()
        && looks_like_message(rest).is_none()
    {
        rest = &rest[4..];
        marker = true;
    }
    let mut index = 0;
    loop {
        index += 1;
        let take = match looks_like_message(rest) {
            Some(len) if len < rest.len() && looks_like_message(&rest[len..]).is_some() => len,
            _ => rest.len(),
        };
        out.entries.push(Entry::Message(Item {
            frame: None,
            index,
            ts: None,
            ends: None,
            marker,
            data: &rest[..take],
            short: None,
        }));
        rest = &rest[take..];
        if rest.is_empty() {
            break;
        }
    }
    out
}
