//! The fakes enforce their advertised stream limit whatever the client
//! does: a raw HTTP/2 client that ignores `SETTINGS_MAX_CONCURRENT_STREAMS`
//! has the stream past it refused (`REFUSED_STREAM`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ringside_push_fakes::{FakeApns, FakeFcm, Limits};

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const REFUSED_STREAM: u32 = 0x7;
const MAX_CONCURRENT_STREAMS: u16 = 0x3;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn read_frame(tcp: &mut TcpStream) -> (u8, u8, u32, Vec<u8>) {
    let mut head = [0u8; 9];
    tcp.read_exact(&mut head).expect("a frame header");
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).expect("a frame payload");
    (head[3], head[4], stream, payload)
}

/// Opens `streams` requests at once on one connection to `addr` and says
/// what the server advertised and which streams it refused.
fn open_too_many(addr: &str, streams: u32) -> (Option<u32>, Vec<u32>) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .expect("preface");
    tcp.write_all(&frame(SETTINGS, 0, 0, &[]))
        .expect("settings");
    // The server's SETTINGS, acknowledged.
    let mut advertised = None;
    loop {
        let (kind, flags, _, payload) = read_frame(&mut tcp);
        if kind == SETTINGS && flags == 0 {
            for setting in payload.chunks(6) {
                if u16::from_be_bytes([setting[0], setting[1]]) == MAX_CONCURRENT_STREAMS {
                    advertised = Some(u32::from_be_bytes([
                        setting[2], setting[3], setting[4], setting[5],
                    ]));
                }
            }
            tcp.write_all(&frame(SETTINGS, 0x1, 0, &[])).expect("ack");
            break;
        }
    }
    // GET / with HPACK's static table (:method GET, :scheme http, :path /)
    // and a literal :authority; END_STREAM | END_HEADERS.
    let mut block = vec![0x82, 0x86, 0x84, 0x01, 9];
    block.extend_from_slice(b"127.0.0.1");
    for i in 0..streams {
        tcp.write_all(&frame(HEADERS, 0x5, 1 + 2 * i, &block))
            .expect("headers");
    }
    let mut refused = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let (kind, _, stream, payload) = read_frame(&mut tcp);
        if kind == RST_STREAM
            && u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                == REFUSED_STREAM
        {
            refused.push(stream);
            if refused.len() as u32 >= streams.saturating_sub(advertised.unwrap_or(0)) {
                break;
            }
        }
    }
    (advertised, refused)
}

#[test]
fn streams_past_the_advertised_limit_are_refused() {
    let apns = FakeApns::start_with(Limits {
        streams_per_connection: 2,
        quota: None,
    });
    // Slow answers keep the first two streams open.
    apns.set_delay(Duration::from_secs(3));
    let (advertised, refused) = open_too_many(apns.base_url.trim_start_matches("http://"), 4);
    assert_eq!(advertised, Some(2));
    assert_eq!(refused, vec![5, 7], "the third and fourth streams");
    assert!(apns.connections()[0].max_streams <= 2);
}

#[test]
fn the_defaults_are_the_providers_documented_limits() {
    let fcm = FakeFcm::start();
    fcm.set_delay(Duration::from_secs(3));
    let (advertised, refused) = open_too_many(fcm.base_url.trim_start_matches("http://"), 102);
    assert_eq!(advertised, Some(100), "Google's front ends: 100");
    assert_eq!(refused, vec![201, 203]);
    assert_eq!(Limits::fcm().quota.map(|q| q.requests), Some(600_000));
    assert_eq!(Limits::apns().streams_per_connection, 1000);
}
