//! Reading avro binary data into [`Datum`]s, driven by a compiled schema.

use super::{datum::Datum, layout::Node};

/// Where and why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    pub offset: usize,
    pub reason: String,
}

/// A cursor over one buffer; `pos` is the offset of the next unread byte.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The bytes read since offset `start`.
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.buf[start..self.pos]
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, ReadError> {
        Err(ReadError {
            offset: self.pos,
            reason: reason.into(),
        })
    }

    /// A zig-zag varint long.
    pub fn long(&mut self) -> Result<i64, ReadError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return self.fail("unexpected end of data in a varint");
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        self.fail("varint longer than 10 bytes")
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ReadError> {
        match self.buf.get(self.pos..self.pos.saturating_add(len)) {
            Some(bytes) => {
                self.pos += len;
                Ok(bytes)
            }
            None => self.fail(format!(
                "{len} bytes announced but only {} left",
                self.buf.len() - self.pos
            )),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], ReadError> {
        let len = self.long()?;
        match usize::try_from(len) {
            Ok(len) => self.take(len),
            Err(_) => self.fail(format!("negative length {len}")),
        }
    }

    /// The item count of the next array/map block (0 ends the array). A negative count is
    /// followed by the block's byte size, which we do not need.
    pub fn block_count(&mut self) -> Result<u64, ReadError> {
        let count = self.long()?;
        if count < 0 {
            self.long()?;
        }
        Ok(count.unsigned_abs())
    }

    /// Step over one value of type `node`, checking its encoding as [`Reader::datum`] does
    /// but building nothing (to count or vet events without the cost of decoding them).
    pub fn skip(&mut self, node: &'static Node) -> Result<(), ReadError> {
        match node {
            Node::Boolean => {
                if self.take(1)?[0] > 1 {
                    self.pos -= 1;
                    return self.fail(format!("invalid boolean byte {:#04x}", self.buf[self.pos]));
                }
            }
            Node::Long | Node::Timestamp => {
                self.long()?;
            }
            Node::Double => {
                self.take(8)?;
            }
            Node::String | Node::Bytes => {
                self.bytes()?;
            }
            Node::Fixed { size, .. } => {
                self.take(*size)?;
            }
            Node::Array(item) => {
                while let n @ 1.. = self.block_count()? {
                    (0..n).try_for_each(|_| self.skip(item))?;
                }
            }
            Node::Map(value) => {
                while let n @ 1.. = self.block_count()? {
                    (0..n).try_for_each(|_| {
                        self.bytes()?;
                        self.skip(value)
                    })?;
                }
            }
            Node::Record(record) => record.fields.iter().try_for_each(|f| self.skip(&f.node))?,
        }
        Ok(())
    }

    /// Read one value of type `node`.
    pub fn datum(&mut self, node: &'static Node) -> Result<Datum, ReadError> {
        Ok(match node {
            Node::Boolean => match self.take(1)?[0] {
                0 => Datum::Boolean(false),
                1 => Datum::Boolean(true),
                b => {
                    self.pos -= 1;
                    return self.fail(format!("invalid boolean byte {b:#04x}"));
                }
            },
            Node::Long => Datum::Long(self.long()?),
            Node::Timestamp => Datum::Timestamp(self.long()?),
            Node::Double => {
                let bytes = self.take(8)?.try_into().expect("8 bytes");
                Datum::Double(f64::from_le_bytes(bytes))
            }
            // Go strings are byte strings: invalid UTF-8 is accepted there, and rendered as
            // U+FFFD by encoding/json, which the lossy conversion matches.
            Node::String => Datum::String(String::from_utf8_lossy(self.bytes()?).into_owned()),
            Node::Bytes => Datum::Bytes(self.bytes()?.to_vec()),
            Node::Fixed { size, .. } => Datum::Fixed(self.take(*size)?.to_vec()),
            Node::Array(items) => {
                let mut out = Vec::new();
                loop {
                    match self.block_count()? {
                        0 => break Datum::Array(out),
                        n => {
                            for _ in 0..n {
                                out.push(self.datum(items)?);
                            }
                        }
                    }
                }
            }
            Node::Map(values) => {
                let mut out = Vec::new();
                loop {
                    match self.block_count()? {
                        0 => break Datum::Map(out),
                        n => {
                            for _ in 0..n {
                                let key = String::from_utf8_lossy(self.bytes()?).into_owned();
                                out.push((key, self.datum(values)?));
                            }
                        }
                    }
                }
            }
            Node::Record(record) => Datum::Record(
                record
                    .fields
                    .iter()
                    .map(|f| Ok((f.name.as_str(), self.datum(&f.node)?)))
                    .collect::<Result<_, ReadError>>()?,
            ),
        })
    }
}
