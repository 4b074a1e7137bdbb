//! azul-backup: backup and restore of Azul events and streams.
//!
//! The host owns bytes and sockets (S3, the dispatcher, the state directory); the
//! orchestration runs in sandboxed WebAssembly components loaded by [`runtime`].

pub mod ageoff;
pub mod app;
pub mod avro;
pub mod capabilities;
pub mod crashpoint;
pub mod demo;
pub mod dispatcher;
pub mod drill;
pub mod get_samples;
pub mod inspect;
pub mod keys;
pub mod logging;
pub mod maintenance;
pub mod metrics;
pub mod objectstore;
pub mod progress;
pub mod run;
pub mod runtime;
pub mod settings;
pub mod settings_doc;
pub mod status;
pub mod swap;
pub mod tls;
pub mod verify;
