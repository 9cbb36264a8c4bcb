//! The TCP connection under a request, so a WebSocket that will not go away
//! can be cut off, and a long-poll whose client left can stop waiting.
//!
//! A client that stops reading keeps its connection, and megabytes of kernel
//! buffers, for as long as it likes: actix-http waits for the socket to take
//! the bytes it holds and has no deadline while a response streams. When a
//! session has ended and its connection is still there after the grace, we
//! abort it: `SO_LINGER` zero, then `shutdown`, which wakes actix-http (its
//! write fails), so it drops the socket and the kernel answers with a reset
//! and frees the buffers at once.
//!
//! The descriptor is actix-http's. We may touch it only while actix-http
//! holds it open: the marker below lives in the connection's data, which is
//! dropped with the connection, and it is an `Rc`, so the check and the
//! abort happen on the connection's own thread, where nothing can close the
//! descriptor in between.

use std::any::Any;
use std::cell::Cell;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use actix_web::dev::Extensions;
use actix_web::HttpRequest;

/// Kept in the connection's data (`on_connect`): the descriptor, and whether
/// the connection is still open.
struct Socket {
    fd: RawFd,
    open: Rc<Cell<bool>>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.open.set(false);
    }
}

/// `HttpServer::on_connect`: remembers each TCP connection's socket.
pub fn on_connect(io: &dyn Any, data: &mut Extensions) {
    if let Some(tcp) = io.downcast_ref::<actix_web::rt::net::TcpStream>() {
        data.insert(Socket {
            fd: tcp.as_raw_fd(),
            open: Rc::new(Cell::new(true)),
        });
    }
}

/// A way to abort the request's connection later (`None` when it is not TCP).
pub fn abort_handle(req: &HttpRequest) -> Option<Box<dyn FnOnce()>> {
    let socket = req.conn_data::<Socket>()?;
    let (fd, open) = (socket.fd, socket.open.clone());
    Some(Box::new(move || {
        if open.get() {
            abort(fd);
        }
    }))
}

/// A way to tell later whether the client has closed its side (`None` when
/// it is not TCP). actix-web does not cancel a handler whose client went
/// away (actix-web#1313), so a handler that waits with nothing to read or
/// write (a long-poll) asks now and then. Call it from the request's own
/// handler: that runs on the connection's thread.
pub fn peer_gone_handle(req: &HttpRequest) -> Option<Box<dyn Fn() -> bool>> {
    let socket = req.conn_data::<Socket>()?;
    let (fd, open) = (socket.fd, socket.open.clone());
    Some(Box::new(move || !open.get() || peer_closed(fd)))
}

/// A FIN or a reset is waiting on `fd`: a peek reads nothing, or fails with
/// something other than "nothing yet". Pending bytes (a pipelined request)
/// mean the peer is still there.
fn peer_closed(fd: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: `fd` is an open socket (checked by the caller on this thread);
    // a peek with MSG_DONTWAIT reads into our one-byte buffer and consumes
    // nothing.
    let n = unsafe {
        libc::recv(
            fd,
            std::ptr::addr_of_mut!(byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => true,
        n if n > 0 => false,
        _ => !matches!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EAGAIN | libc::EINTR)
        ),
    }
}

fn abort(fd: RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `fd` is an open socket (checked by the caller on this thread);
    // both calls only change the socket's state and cannot fail unsafely.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    use super::peer_closed;

    #[test]
    fn a_peer_is_there_until_it_closes_its_side() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        assert!(!peer_closed(server.as_raw_fd()), "connected, nothing sent");
        client.write_all(b"GET").expect("write");
        assert!(
            !peer_closed(server.as_raw_fd()),
            "bytes on the way or waiting"
        );
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"GET", "a peek consumes nothing");
        drop(client);
        // The FIN crosses loopback at once, but not within this call: wait
        // for the condition itself.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !peer_closed(server.as_raw_fd()) {
            assert!(Instant::now() < deadline, "the close was never seen");
            std::thread::yield_now();
        }
    }
}
