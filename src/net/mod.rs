//! Sockets: per-core SO_REUSEPORT listeners and the connection loop (keep-alive, pipelining,
//! 100-continue, deadlines).

pub mod connection;
pub mod listener;

pub use listener::{bind_listeners, serve};
