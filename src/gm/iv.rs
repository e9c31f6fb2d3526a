//! Counter-mode IVs with the Sender-ID in the most significant bits (RFC 6054 §3,
//! RFC 9838 §2.5.2): `IV = 0..0 | Sender-ID (n bits, right-aligned) | counter (64-n bits)`.

use std::fmt;

/// Why no IV can be produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IvError {
    /// GWP_SENDER_ID_BITS outside 1..=63.
    InvalidBits(u16),
    /// The Sender-ID does not fit in the Sender-ID field: fatal, re-register
    /// (RFC 9838 §2.5.2).
    SenderIdTooLarge {
        /// The Sender-ID.
        sender_id: u32,
        /// The field width.
        bits: u16,
    },
    /// Every Sender-ID's counter space is used up: stop sending and re-register.
    Exhausted,
}

impl fmt::Display for IvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IvError::InvalidBits(b) => write!(f, "GWP_SENDER_ID_BITS {b} outside 1..=63"),
            IvError::SenderIdTooLarge { sender_id, bits } => {
                write!(f, "Sender-ID {sender_id} does not fit in {bits} bits")
            }
            IvError::Exhausted => f.write_str("IV space exhausted for every Sender-ID"),
        }
    }
}

impl std::error::Error for IvError {}

/// The 8-octet IV for `counter` under `sender_id` with an `n = bits` wide Sender-ID field.
pub fn counter_mode_iv(sender_id: u32, bits: u16, counter: u64) -> Result<[u8; 8], IvError> {
    if !(1..=63).contains(&bits) {
        return Err(IvError::InvalidBits(bits));
    }
    if u64::from(sender_id) >> bits != 0 {
        return Err(IvError::SenderIdTooLarge { sender_id, bits });
    }
    let counter_bits = 64 - u32::from(bits);
    if counter >> counter_bits != 0 {
        return Err(IvError::Exhausted);
    }
    Ok(((u64::from(sender_id) << counter_bits) | counter).to_be_bytes())
}

/// IVs for one outbound SA: walks the counter of the current Sender-ID and moves to the
/// next allocated Sender-ID when it runs out (RFC 9838 §2.5.2).
#[derive(Clone, Debug)]
pub struct IvSequence {
    sender_ids: Vec<u32>,
    bits: u16,
    index: usize,
    counter: u64,
}

impl IvSequence {
    /// A sequence over `sender_ids` (in order) with `bits`-wide Sender-ID fields. Fails if
    /// `bits` is invalid or a Sender-ID does not fit.
    pub fn new(sender_ids: Vec<u32>, bits: u16) -> Result<Self, IvError> {
        for id in &sender_ids {
            counter_mode_iv(*id, bits, 0)?;
        }
        Ok(IvSequence {
            sender_ids,
            bits,
            index: 0,
            counter: 0,
        })
    }

    /// The next IV.
    pub fn next_iv(&mut self) -> Result<[u8; 8], IvError> {
        loop {
            let id = *self.sender_ids.get(self.index).ok_or(IvError::Exhausted)?;
            match counter_mode_iv(id, self.bits, self.counter) {
                Ok(iv) => {
                    self.counter += 1;
                    return Ok(iv);
                }
                Err(IvError::Exhausted) => {
                    self.index += 1;
                    self.counter = 0;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_rfc6054() {
        // n = 8: Sender-ID 0x05 in the top octet, counter below.
        assert_eq!(counter_mode_iv(5, 8, 1).unwrap(), [5, 0, 0, 0, 0, 0, 0, 1]);
        // n = 12: Sender-ID 0xabc occupies the top 12 bits.
        assert_eq!(
            counter_mode_iv(0xabc, 12, 0x1).unwrap(),
            [0xab, 0xc0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            counter_mode_iv(1, 12, (1 << 52) - 1).unwrap(),
            [0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn reports_errors() {
        assert_eq!(
            counter_mode_iv(256, 8, 0),
            Err(IvError::SenderIdTooLarge {
                sender_id: 256,
                bits: 8
            })
        );
        assert_eq!(counter_mode_iv(1, 8, 1 << 56), Err(IvError::Exhausted));
        assert_eq!(counter_mode_iv(1, 0, 0), Err(IvError::InvalidBits(0)));
        assert_eq!(counter_mode_iv(1, 64, 0), Err(IvError::InvalidBits(64)));
    }

    #[test]
    fn sequence_moves_to_next_sender_id() {
        let mut s = IvSequence::new(vec![1, 2], 62).unwrap();
        // 2 counter bits: 4 IVs per Sender-ID.
        let ivs: Vec<_> = (0..8).map(|_| s.next_iv().unwrap()).collect();
        assert_eq!(ivs[3], ((1u64 << 2) | 3).to_be_bytes());
        assert_eq!(ivs[4], (2u64 << 2).to_be_bytes());
        assert_eq!(s.next_iv(), Err(IvError::Exhausted));
        assert!(IvSequence::new(vec![4], 2).is_err());
    }
}
