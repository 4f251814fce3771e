//! MLLP (Minimal Lower Layer Protocol, HL7 v2 Implementation Guide, Appendix C): each message
//! is sent as `0x0B message 0x1C 0x0D` on a TCP connection; the answer comes back the same way.

use tokio::io::{AsyncRead, AsyncReadExt};

pub const START: u8 = 0x0b;
pub const END: [u8; 2] = [0x1c, 0x0d];

#[derive(Debug, thiserror::Error)]
pub enum MllpError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a message must start with 0x0B, got 0x{0:02X}")]
    NoStartBlock(u8),
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("the connection closed inside a message")]
    Truncated,
}

/// Frames `message` for sending.
pub fn frame(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message.as_bytes());
    out.extend_from_slice(&END);
    out
}

/// Reads the next framed message from `r` (`Ok(None)`: the peer closed between messages).
/// `buf` keeps bytes read past the end of one message for the next call.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<Option<Vec<u8>>, MllpError> {
    loop {
        // Leading whitespace between frames is tolerated (some senders add LF).
        while buf
            .first()
            .is_some_and(|b| matches!(b, b'\r' | b'\n' | b' '))
        {
            buf.remove(0);
        }
        if let Some(&first) = buf.first() {
            if first != START {
                return Err(MllpError::NoStartBlock(first));
            }
            if let Some(end) = buf.windows(2).position(|w| w == END) {
                if end - 1 > max {
                    return Err(MllpError::TooLarge(max));
                }
                let msg = buf[1..end].to_vec();
                buf.drain(..end + 2);
                return Ok(Some(msg));
            }
            if buf.len() > max + 3 {
                return Err(MllpError::TooLarge(max));
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(MllpError::Truncated)
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_split_and_joined_across_reads() {
        let mut wire = frame("MSH|a");
        wire.extend(frame("MSH|b"));
        wire.extend_from_slice(b"\x0bMSH|c");
        let mut r: &[u8] = &wire;
        let mut buf = Vec::new();
        assert_eq!(
            read_frame(&mut r, &mut buf, 100).await.unwrap().unwrap(),
            b"MSH|a"
        );
        assert_eq!(
            read_frame(&mut r, &mut buf, 100).await.unwrap().unwrap(),
            b"MSH|b"
        );
        assert!(matches!(
            read_frame(&mut r, &mut buf, 100).await,
            Err(MllpError::Truncated)
        ));
        let mut r: &[u8] = b"MSH|x";
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new(), 100).await,
            Err(MllpError::NoStartBlock(b'M'))
        ));
        let big = frame(&"x".repeat(200));
        let mut r: &[u8] = &big;
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new(), 100).await,
            Err(MllpError::TooLarge(100))
        ));
    }
}
