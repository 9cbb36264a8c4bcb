//! The reading half of a WebSocket (RFC 6455 §5), over the raw bytes of the
//! upgraded request.
//!
//! actix-ws buffers a whole frame before looking at its size, so one client
//! declaring a 128 MiB frame made the server hold 128 MiB. This reader judges
//! every frame by its header as soon as the length is known: a frame, or a
//! fragmented message's running total, over the limit ends the connection
//! with 1009 before a byte of its payload is read. A connection so never
//! holds more than one message of the limit plus one read from the socket.
//! It also reassembles fragmented messages, checks UTF-8 (1007), and refuses
//! what a client must not send (unmasked frames, reserved bits, unknown
//! opcodes, long or fragmented control frames, bad close codes: 1002).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;

use crate::protocol::close;

/// A whole message or control frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    /// Binary messages are read (to be judged by size) but not kept.
    Binary,
    Ping(Bytes),
    Pong,
    /// The client's close, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the connection must end: the close code to send, and a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadError {
    pub code: u16,
    pub reason: &'static str,
}

fn protocol_error(reason: &'static str) -> ReadError {
    ReadError {
        code: close::PROTOCOL_ERROR,
        reason,
    }
}

const TOO_LARGE: ReadError = ReadError {
    code: close::TOO_LARGE,
    reason: "message too large",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

struct Header {
    fin: bool,
    opcode: Opcode,
    mask: [u8; 4],
    /// Bytes of header before the payload.
    len: usize,
    payload: usize,
}

pub struct FrameReader<S> {
    inner: S,
    buf: BytesMut,
    max_size: usize,
    /// A fragmented message so far: text or not, and its bytes.
    message: Option<(bool, BytesMut)>,
    done: bool,
}

impl<S> FrameReader<S> {
    /// Reads frames from `inner`, refusing messages over `max_size` bytes.
    pub fn new(inner: S, max_size: usize) -> FrameReader<S> {
        FrameReader {
            inner,
            buf: BytesMut::new(),
            max_size,
            message: None,
            done: false,
        }
    }

    /// The next frame's header, once enough of it is here. Sizes are judged
    /// as soon as the length field is complete, before the mask key.
    fn header(&self) -> Result<Option<Header>, ReadError> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let (first, second) = (b[0], b[1]);
        if first & 0x70 != 0 {
            return Err(protocol_error("reserved bits set"));
        }
        let opcode = Opcode::from_bits(first & 0x0F).ok_or(protocol_error("unknown opcode"))?;
        let fin = first & 0x80 != 0;
        if second & 0x80 == 0 {
            return Err(protocol_error("client frames must be masked"));
        }
        let (payload, mut at) = match second & 0x7F {
            126 => {
                let Some(n) = b.get(2..4) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([n[0], n[1]])), 4)
            }
            127 => {
                let Some(n) = b.get(2..10) else {
                    return Ok(None);
                };
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(n);
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(protocol_error("frame length out of range"));
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        if opcode.is_control() {
            if !fin {
                return Err(protocol_error("fragmented control frame"));
            }
            if payload > 125 {
                return Err(protocol_error("control frame over 125 bytes"));
            }
        } else {
            match (&self.message, opcode) {
                (None, Opcode::Continuation) => {
                    return Err(protocol_error("continuation without a message"))
                }
                (Some(_), Opcode::Text | Opcode::Binary) => {
                    return Err(protocol_error("new message inside a fragmented one"))
                }
                _ => {}
            }
            let so_far = self.message.as_ref().map_or(0, |(_, m)| m.len()) as u64;
            if so_far.saturating_add(payload) > self.max_size as u64 {
                return Err(TOO_LARGE);
            }
        }
        let Some(mask) = b.get(at..at + 4) else {
            return Ok(None);
        };
        let mask = [mask[0], mask[1], mask[2], mask[3]];
        at += 4;
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            len: at,
            // At most `max_size` (data) or 125 (control), checked above.
            payload: payload as usize,
        }))
    }

    /// The next complete message or control frame in the buffer, if any.
    fn parse(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            let Some(header) = self.header()? else {
                return Ok(None);
            };
            if self.buf.len() < header.len + header.payload {
                // The buffer grows to one frame at most: it was judged above.
                self.buf
                    .reserve(header.len + header.payload - self.buf.len());
                return Ok(None);
            }
            self.buf.advance(header.len);
            let mut payload = self.buf.split_to(header.payload);
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= header.mask[i % 4];
            }
            let whole = match header.opcode {
                Opcode::Ping => return Ok(Some(Incoming::Ping(payload.freeze()))),
                Opcode::Pong => return Ok(Some(Incoming::Pong)),
                Opcode::Close => return close_frame(&payload).map(Some),
                Opcode::Text | Opcode::Binary if header.fin => {
                    (header.opcode == Opcode::Text, payload)
                }
                Opcode::Text | Opcode::Binary => {
                    self.message = Some((header.opcode == Opcode::Text, payload));
                    continue;
                }
                Opcode::Continuation => {
                    let Some((text, mut so_far)) = self.message.take() else {
                        return Err(protocol_error("continuation without a message"));
                    };
                    so_far.extend_from_slice(&payload);
                    if !header.fin {
                        self.message = Some((text, so_far));
                        continue;
                    }
                    (text, so_far)
                }
            };
            return match whole {
                (true, bytes) => String::from_utf8(bytes.to_vec())
                    .map(|s| Some(Incoming::Text(s)))
                    .map_err(|_| ReadError {
                        code: close::INVALID_DATA,
                        reason: "text is not valid UTF-8",
                    }),
                (false, _) => Ok(Some(Incoming::Binary)),
            };
        }
    }
}

/// A close frame's body: nothing, or a valid status code and a UTF-8 reason.
fn close_frame(payload: &[u8]) -> Result<Incoming, ReadError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(protocol_error("close frame with a one-byte body")),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !sendable_close_code(code) {
                return Err(protocol_error("invalid close code"));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(ReadError {
                    code: close::INVALID_DATA,
                    reason: "close reason is not valid UTF-8",
                });
            }
            Ok(Incoming::Close(Some(code)))
        }
    }
}

/// Codes an endpoint may put in a close frame (RFC 6455 §7.4, IANA registry):
/// 1004-1006 and 1015 are reserved, below 1000 and 1016-2999 unassigned.
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

impl<S, E> Stream for FrameReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Incoming, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.parse() {
                Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.buf.extend_from_slice(&chunk),
                // The connection is gone (or broken): nothing more to read.
                Poll::Ready(Some(Err(_))) | Poll::Ready(None) => this.done = true,
                Poll::Pending => {
                    // Nothing pending parse: an idle reader holds no buffer.
                    if this.buf.is_empty() && this.buf.capacity() > 0 {
                        this.buf = BytesMut::new();
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream::{self, StreamExt};

    /// A masked client frame.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [1u8, 2, 3, 4];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn read_all(chunks: Vec<Vec<u8>>, max: usize) -> Vec<Result<Incoming, ReadError>> {
        let inner = stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<Bytes, std::io::Error>(Bytes::from(c))),
        );
        actix_rt::System::new().block_on(FrameReader::new(inner, max).collect())
    }

    #[test]
    fn reads_text_split_anywhere() {
        let bytes = frame(true, 1, b"hello");
        let chunks = bytes.iter().map(|b| vec![*b]).collect();
        assert_eq!(
            read_all(chunks, 64),
            vec![Ok(Incoming::Text("hello".into()))]
        );
    }

    #[test]
    fn reassembles_fragments_with_control_frames_between() {
        let mut bytes = frame(false, 1, b"What a ");
        bytes.extend(frame(true, 9, b"p"));
        bytes.extend(frame(false, 0, b"ja"));
        bytes.extend(frame(true, 0, b"b!"));
        assert_eq!(
            read_all(vec![bytes], 64),
            vec![
                Ok(Incoming::Ping(Bytes::from_static(b"p"))),
                Ok(Incoming::Text("What a jab!".into())),
            ]
        );
    }

    #[test]
    fn an_oversized_frame_is_refused_by_its_header_alone() {
        // Only the first ten bytes of a 64 MiB frame: no payload at all.
        let header = frame(true, 1, &[]);
        let mut declared = vec![header[0], 0x80 | 127];
        declared.extend_from_slice(&(64u64 << 20).to_be_bytes());
        assert_eq!(read_all(vec![declared], 4096), vec![Err(TOO_LARGE)]);
        // A fragmented message is judged by its running total.
        let mut bytes = frame(false, 1, &[b'a'; 40]);
        bytes.extend(frame(false, 0, &[b'a'; 40]));
        assert_eq!(read_all(vec![bytes], 64), vec![Err(TOO_LARGE)]);
    }

    #[test]
    fn invalid_utf8_is_1007_and_protocol_breaches_are_1002() {
        let got = read_all(vec![frame(true, 1, &[0xC3, 0x28])], 64);
        assert_eq!(got[0].as_ref().map_err(|e| e.code), Err(1007));
        let mut unmasked = frame(true, 1, b"x");
        unmasked[1] &= 0x7F;
        let cases = [
            unmasked,
            frame(true, 0, b"x"),          // continuation first
            frame(true, 3, b"x"),          // reserved opcode
            frame(false, 9, b"x"),         // fragmented ping
            frame(true, 9, &[0u8; 126]),   // long ping
            frame(true, 8, &[0x03]),       // one-byte close body
            frame(true, 8, &[0x03, 0xEC]), // close code 1004
            {
                let mut f = frame(true, 1, b"x");
                f[0] |= 0x40; // RSV1 without an extension
                f
            },
        ];
        for case in cases {
            let got = read_all(vec![case.clone()], 64);
            assert_eq!(
                got.first().map(|r| r.as_ref().map_err(|e| e.code)),
                Some(Err(1002)),
                "{case:?}"
            );
        }
    }

    #[test]
    fn close_frames_carry_their_code() {
        let mut body = 4000u16.to_be_bytes().to_vec();
        body.extend_from_slice(b"bye");
        assert_eq!(
            read_all(vec![frame(true, 8, &body)], 64),
            vec![Ok(Incoming::Close(Some(4000)))]
        );
        assert_eq!(
            read_all(vec![frame(true, 8, &[])], 64),
            vec![Ok(Incoming::Close(None))]
        );
    }

    fn codes(results: &[Result<Incoming, ReadError>]) -> Vec<Result<&Incoming, u16>> {
        results
            .iter()
            .map(|r| r.as_ref().map_err(|e| e.code))
            .collect()
    }

    #[test]
    fn long_lengths_arrive_in_pieces_and_binary_and_pongs_are_read() {
        let medium = "m".repeat(200); // a 16-bit length
        let long = "l".repeat(70_000); // a 64-bit length
        let mut chunks = Vec::new();
        for text in [&medium, &long] {
            let bytes = frame(true, 1, text.as_bytes());
            // The header a byte at a time, then the rest.
            chunks.extend(bytes[..14].iter().map(|b| vec![*b]));
            chunks.push(bytes[14..].to_vec());
        }
        let mut rest = frame(false, 2, b"\x00\x01");
        rest.extend(frame(true, 0, b"\x02"));
        rest.extend(frame(true, 10, b""));
        chunks.push(rest);
        assert_eq!(
            read_all(chunks, 100_000),
            vec![
                Ok(Incoming::Text(medium)),
                Ok(Incoming::Text(long)),
                Ok(Incoming::Binary),
                Ok(Incoming::Pong),
            ]
        );
    }

    #[test]
    fn a_message_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        assert_eq!(
            read_all(vec![frame(true, 1, &[b'a'; 64])], 64),
            vec![Ok(Incoming::Text("a".repeat(64)))]
        );
        assert_eq!(
            read_all(vec![frame(true, 1, &[b'a'; 65])], 64),
            vec![Err(TOO_LARGE)]
        );
        let mut fragmented = frame(false, 1, &[b'a'; 32]);
        fragmented.extend(frame(true, 0, &[b'a'; 32]));
        assert_eq!(
            read_all(vec![fragmented], 64),
            vec![Ok(Incoming::Text("a".repeat(64)))]
        );
        let ping = frame(true, 9, &[7u8; 125]);
        assert_eq!(
            read_all(vec![ping], 64),
            vec![Ok(Incoming::Ping(Bytes::from(vec![7u8; 125])))],
            "a control frame's 125 bytes do not count against the limit"
        );
    }

    #[test]
    fn nothing_is_read_after_an_error() {
        let mut bytes = frame(true, 3, b"x");
        bytes.extend(frame(true, 1, b"after"));
        assert_eq!(codes(&read_all(vec![bytes], 64)), vec![Err(1002)]);
    }

    #[test]
    fn more_protocol_breaches_are_1002_and_a_bad_close_reason_is_1007() {
        let mut out_of_range = vec![0x81, 0x80 | 127];
        out_of_range.extend_from_slice(&(1u64 << 63).to_be_bytes());
        let mut nested = frame(false, 1, b"a");
        nested.extend(frame(true, 1, b"b"));
        for case in [out_of_range, nested] {
            assert_eq!(
                codes(&read_all(vec![case.clone()], 64)),
                vec![Err(1002)],
                "{case:?}"
            );
        }
        let mut body = 1000u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0xC3, 0x28]);
        assert_eq!(
            codes(&read_all(vec![frame(true, 8, &body)], 64)),
            vec![Err(1007)]
        );
    }

    #[test]
    fn only_codes_an_endpoint_may_send_are_accepted_in_a_close() {
        let accepted: [u16; 10] = [1000, 1001, 1002, 1003, 1007, 1010, 1014, 3000, 4000, 4999];
        let refused = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX];
        for code in accepted {
            let got = read_all(vec![frame(true, 8, &code.to_be_bytes())], 64);
            assert_eq!(got, vec![Ok(Incoming::Close(Some(code)))], "{code}");
        }
        for code in refused {
            let got = read_all(vec![frame(true, 8, &code.to_be_bytes())], 64);
            assert_eq!(codes(&got), vec![Err(1002)], "{code}");
        }
    }
}
