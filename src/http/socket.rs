//! The TCP connection under a request, so a WebSocket that will not go away
//! can be cut off.
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
