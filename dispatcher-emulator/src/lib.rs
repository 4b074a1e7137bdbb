//! A faithful in-memory stand-in for the Azul dispatcher's HTTP API (events and streams),
//! for integration tests, benchmarks and demos.
//!
//! Routes, status codes, error bodies and the multipart framing of `GET` events follow the real
//! dispatcher; Kafka is replaced by append-only topic logs with per-consumer-group offsets and
//! the object store by a map.

mod consumers;
pub mod corpus;
mod emulator;
pub mod errors;
mod framing;
mod gostr;
mod params;
mod routes;
mod streams;
mod topics;

pub use emulator::{Emulator, EmulatorConfig, Running};
pub use streams::StreamKey;
pub use topics::{ACTIONS, PublishError};
