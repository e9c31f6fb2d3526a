//! Bounds-checked cursor over untrusted octets.
//!
//! Every read checks the remaining length first and reports the absolute offset of the
//! failing field; nothing here allocates based on a value read from the input.

use super::error::{DecodeError, DecodeErrorKind, Structure};

/// A cursor over a slice whose first octet sits at absolute offset `base` of the input.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole input buffer.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader::at(data, 0)
    }

    /// A reader over `data`, which starts at absolute offset `base`.
    pub(crate) fn at(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// Absolute offset of the next octet.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Octets left.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// True when every octet was consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Builds an error at the current position.
    pub(crate) fn error(&self, structure: Structure, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            structure,
            offset: self.offset(),
            kind,
        }
    }

    /// Takes `n` octets.
    pub(crate) fn take(&mut self, n: usize, structure: Structure) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.error(
                structure,
                DecodeErrorKind::Truncated {
                    needed: n,
                    available: self.remaining(),
                },
            ));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes every remaining octet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }

    /// Takes a fixed-size array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        structure: Structure,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, structure)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, structure: Structure) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(structure)?[0])
    }

    pub(crate) fn u16(&mut self, structure: Structure) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(structure)?))
    }

    pub(crate) fn u32(&mut self, structure: Structure) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(structure)?))
    }

    /// Looks at the next octet without consuming it.
    pub(crate) fn peek_u8(&self, structure: Structure) -> Result<u8, DecodeError> {
        self.data.get(self.pos).copied().ok_or_else(|| {
            self.error(
                structure,
                DecodeErrorKind::Truncated {
                    needed: 1,
                    available: 0,
                },
            )
        })
    }

    /// Splits off a sub-reader for a structure whose total length (`declared`, read from
    /// the structure's own header, which started `header_len` octets ago) must fit.
    ///
    /// Returns a reader over the structure's remaining `declared - header_len` octets and
    /// advances past them.
    pub(crate) fn sub_structure(
        &mut self,
        declared: usize,
        header_len: usize,
        length_field_offset: usize,
        structure: Structure,
    ) -> Result<Reader<'a>, DecodeError> {
        if declared < header_len {
            return Err(DecodeError {
                structure,
                offset: length_field_offset,
                kind: DecodeErrorKind::LengthUnderrun {
                    declared,
                    minimum: header_len,
                },
            });
        }
        let body_len = declared - header_len;
        if body_len > self.remaining() {
            return Err(DecodeError {
                structure,
                offset: length_field_offset,
                kind: DecodeErrorKind::LengthOverrun {
                    declared,
                    available: self.remaining() + header_len,
                },
            });
        }
        let base = self.offset();
        let body = &self.data[self.pos..self.pos + body_len];
        self.pos += body_len;
        Ok(Reader::at(body, base))
    }

    /// Fails unless every octet was consumed.
    pub(crate) fn finish(&self, structure: Structure) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(
                structure,
                DecodeErrorKind::TrailingOctets {
                    count: self.remaining(),
                },
            ))
        }
    }
}
