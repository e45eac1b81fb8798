//! The socket back out of hyper's upgrade. hyper's upgraded object keeps its
//! read buffer and connection state alive for as long as the WebSocket
//! lives; the socket taken back out of it does not (227 B less heap per idle
//! connection, docs/BENCHMARKS.md).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The socket under `upgraded` if it is a `T`, else `upgraded` unchanged.
pub fn bare<T>(upgraded: Upgraded) -> Result<Replay<T>, Upgraded>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    upgraded.downcast::<TokioIo<T>>().map(|parts| Replay {
        first: owned(parts.read_buf),
        io: parts.io.into_inner(),
    })
}

/// Bytes that no longer hold hyper's whole read buffer: an empty or short
/// slice of it would keep all of it alive.
fn owned(bytes: Bytes) -> Bytes {
    if bytes.is_empty() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(&bytes)
    }
}

/// A socket with the bytes hyper read past the request in front of it: a
/// client may send its first frames before it sees the 101.
pub struct Replay<T> {
    first: Bytes,
    io: T,
}

impl<T: AsyncRead + Unpin> AsyncRead for Replay<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.first.has_remaining() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Replay<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn replays_the_bytes_read_ahead_then_reads_the_socket() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut io = Replay {
            first: Bytes::from_static(b"ahead "),
            io: ours,
        };
        theirs.write_all(b"after").await.unwrap();
        let mut got = vec![0; 11];
        io.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"ahead after");
        io.write_all(b"back").await.unwrap();
        let mut back = [0; 4];
        theirs.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    }
}
