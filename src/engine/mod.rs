//! The native I/O engine (`engine: 'native'`): a tokio runtime on a thread
//! of its own accepts connections, reads the upgrade request, and then
//! reads, parses, inflates, frames, deflates and writes WebSocket traffic.
//! JavaScript keeps every decision (verifyClient, subprotocols, the API):
//! it gets batches of events through [`Engine::poll`] after one wake-up
//! call, and sends batches of commands through [`Engine::submit`].
//!
//! No napi types here: the glue supplies a [`Notifier`] and copies bytes.

mod commands;
mod conn;
mod ctx;
pub mod http;
pub mod inbox;
pub mod outq;
pub mod pinned;
mod server;
mod task;
pub mod wire;

pub use ctx::{CommandBatch, EngineConfig, Notifier};
pub use pinned::Pinned;
pub use server::Engine;
