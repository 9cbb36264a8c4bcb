//! Live connections per client address (`MAX_CONNECTIONS_PER_IP`; IPv6 per
//! /64), so one address cannot open thousands of sockets. A slot is taken
//! before a connection is upgraded and given back when its slot guard drops
//! (the guard rides in the connection's response body). Per node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::client_addr::limit_key;

#[derive(Clone)]
pub struct ConnectionSlots {
    /// 0: no limit.
    max: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// The address has as many connections as it may.
#[derive(Debug)]
pub struct Full;

/// One connection's slot; dropping it frees the slot.
pub struct Slot {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionSlots {
    pub fn new(max: u32) -> ConnectionSlots {
        ConnectionSlots {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for `ip`, or `None` when its address already has the maximum.
    /// Connections of unknown address (not TCP) are not counted.
    pub fn take(&self, ip: Option<IpAddr>) -> Result<Option<Slot>, Full> {
        let (Some(ip), true) = (ip, self.max > 0) else {
            return Ok(None);
        };
        let key = limit_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return Err(Full);
        }
        *count += 1;
        Ok(Some(Slot {
            key,
            open: self.open.clone(),
        }))
    }

    /// Connections open from `ip`'s address (block).
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&limit_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_max_and_slots_come_back() {
        let slots = ConnectionSlots::new(2);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let a = slots.take(Some(ip)).expect("first");
        let _b = slots.take(Some(ip)).expect("second");
        assert!(slots.take(Some(ip)).is_err(), "third refused");
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        assert!(slots.take(Some(other)).is_ok(), "another address is apart");
        drop(a);
        assert!(slots.take(Some(ip)).is_ok(), "a freed slot is reused");
        assert_eq!(ConnectionSlots::new(0).open_from(ip), 0);
        assert!(ConnectionSlots::new(0).take(Some(ip)).is_ok(), "0 = off");
    }
}
