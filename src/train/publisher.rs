//! A non-blocking update sender: the trainer never waits for a consumer.

use crossbeam_channel::{Sender, TrySendError};

use crate::train::events::Update;

/// Sends updates over a bounded channel without ever blocking.
///
/// When the channel is full, lossy updates (progress, per-step losses) are dropped and counted;
/// every other update is kept in a local backlog and delivered, in order, as soon as there is
/// room. When the consumer is gone, updates are discarded.
#[derive(Debug)]
pub struct Publisher {
    sender: Sender<Update>,
    backlog: std::collections::VecDeque<Update>,
    dropped: u64,
    disconnected: bool,
}

impl Publisher {
    /// Wraps a sender (use a bounded channel).
    pub fn new(sender: Sender<Update>) -> Self {
        Self {
            sender,
            backlog: Default::default(),
            dropped: 0,
            disconnected: false,
        }
    }

    /// Sends (or queues, or drops) one update; never blocks.
    pub fn publish(&mut self, update: Update) {
        if self.disconnected {
            return;
        }
        self.flush();
        if !self.backlog.is_empty() {
            if update.is_lossy() {
                self.dropped += 1;
            } else {
                self.backlog.push_back(update);
            }
            return;
        }
        match self.sender.try_send(update) {
            Ok(()) => {}
            Err(TrySendError::Full(u)) => {
                if u.is_lossy() {
                    self.dropped += 1;
                } else {
                    self.backlog.push_back(u);
                }
            }
            Err(TrySendError::Disconnected(_)) => self.disconnected = true,
        }
    }

    /// Tries to deliver queued updates; never blocks.
    pub fn flush(&mut self) {
        while let Some(u) = self.backlog.pop_front() {
            match self.sender.try_send(u) {
                Ok(()) => {}
                Err(TrySendError::Full(u)) => {
                    self.backlog.push_front(u);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.disconnected = true;
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    /// Waits up to `timeout` for the backlog to drain (used once at the end of a run).
    pub fn drain(&mut self, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while let Some(u) = self.backlog.pop_front() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if self.sender.send_timeout(u, left).is_err() {
                self.backlog.clear();
                return;
            }
        }
    }

    /// Lossy updates dropped because the consumer was slow.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Updates waiting for room in the channel.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(i: usize) -> Update {
        Update::Warning {
            message: i.to_string(),
        }
    }

    fn loss() -> Update {
        Update::Loss(crate::train::events::LossPoint {
            global_step: 0,
            round: 0,
            supervised: 1.0,
            pseudo: None,
            total: 1.0,
        })
    }

    #[test]
    fn full_channel_drops_lossy_and_keeps_the_rest_in_order() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut p = Publisher::new(tx);
        p.publish(warning(0));
        p.publish(loss()); // full: dropped
        p.publish(warning(1)); // full: queued
        p.publish(warning(2)); // queued behind
        assert_eq!(p.dropped(), 1);
        assert_eq!(p.backlog_len(), 2);
        assert_eq!(rx.recv().unwrap(), warning(0));
        p.flush();
        assert_eq!(rx.recv().unwrap(), warning(1));
        p.publish(loss()); // backlog not empty: dropped
        assert_eq!(p.dropped(), 2);
        assert_eq!(rx.recv().unwrap(), warning(2));
    }

    #[test]
    fn absent_consumer_never_blocks() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        drop(rx);
        let mut p = Publisher::new(tx);
        for i in 0..1000 {
            p.publish(warning(i));
        }
        assert_eq!(p.backlog_len(), 0);
    }
}
