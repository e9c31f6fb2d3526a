//! Output buffer with length fields patched once their structure is complete
//! (the shape of rustls' `LengthPrefixedBuffer`, without the Drop magic).

use super::error::{EncodeError, Structure};

/// Growable output buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

/// Where a 16-bit length placeholder sits and where its structure began.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LengthMark {
    field: usize,
    start: usize,
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Writes a 16-bit length placeholder for a structure that began at `start`.
    pub(crate) fn length16_placeholder(&mut self, start: usize) -> LengthMark {
        let field = self.buf.len();
        self.u16(0);
        LengthMark { field, start }
    }

    /// Patches a placeholder with the number of octets written since its structure began.
    pub(crate) fn patch_length16(
        &mut self,
        mark: LengthMark,
        structure: Structure,
    ) -> Result<(), EncodeError> {
        let len = self.buf.len() - mark.start;
        let v = u16::try_from(len).map_err(|_| EncodeError::TooLong {
            structure,
            len,
            max: u16::MAX as usize,
        })?;
        self.buf[mark.field..mark.field + 2].copy_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// Writes a one-octet length or count, failing if it does not fit.
    pub(crate) fn u8_len(
        &mut self,
        len: usize,
        structure: Structure,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let v = u8::try_from(len).map_err(|_| EncodeError::OutOfRange {
            structure,
            field,
            value: len as u64,
        })?;
        self.u8(v);
        Ok(())
    }

    /// Writes a two-octet length or count, failing if it does not fit.
    pub(crate) fn u16_len(
        &mut self,
        len: usize,
        structure: Structure,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let v = u16::try_from(len).map_err(|_| EncodeError::OutOfRange {
            structure,
            field,
            value: len as u64,
        })?;
        self.u16(v);
        Ok(())
    }

    /// Overwrites a 32-bit field at `at`.
    pub(crate) fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Overwrites one octet at `at`.
    pub(crate) fn patch_u8(&mut self, at: usize, v: u8) {
        self.buf[at] = v;
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}
