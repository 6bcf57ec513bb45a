//! runway-core: the Rust core of runway-mcp-server.
//!
//! Each module is one concern. Everything except `bindings` is plain Rust (no pyo3 types), so
//! `cargo test` covers the logic without Python.
//!
//! Modules import only from those to their left (checked by tests/layout.rs):
//! `tasks, util <- errors <- catalogue <- media, journal <- client <- simulator <- bindings`.

pub mod catalogue;
pub mod client;
pub mod errors;
pub mod journal;
pub mod media;
pub mod simulator;
pub mod tasks;
pub mod util;

mod bindings;
