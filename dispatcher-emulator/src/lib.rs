//! A faithful in-memory stand-in for the Azul dispatcher's HTTP API (events and streams),
//! for integration tests, benchmarks and demos.
//!
//! Routes, status codes, error bodies and the multipart framing of `GET` events follow the real
//! dispatcher; Kafka is replaced by append-only topic logs with per-consumer-group offsets and
//! the object store by a map. Posted and seeded events go through the dispatcher's produce
//! pipeline (new `kafka_key`, tracking ids, topic choice), fetched events through its passive
//! consume filters. `/emulator/v1/` adds inspection and fault injection for tests.

mod avro_value;
mod config;
mod consume_filters;
mod consumers;
pub mod corpus;
mod emulator;
pub mod errors;
mod facts;
pub mod faults;
mod fetch;
mod framing;
mod gostr;
mod gotime;
mod graveyard;
pub mod inspect;
pub mod load;
mod params;
mod produce;
mod routes;
mod serve;
pub mod sources;
mod streams;
mod topics;

pub use config::EmulatorConfig;
pub use emulator::Emulator;
pub use produce::{CanonicalKeyError, EmptyPath, canonical_key};
pub use serve::Running;
pub use streams::StreamKey;
pub use topics::{ACTIONS, PublishError};
