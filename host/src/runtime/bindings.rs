//! The one place that turns the WIT contract into Rust: host traits for every imported
//! interface and typed entry points for both worlds. The restore world reuses the backup
//! world's generated interfaces, so each capability is implemented once.

/// Bindings of the `backup` world (and, through it, every host interface).
pub mod backup {
    wasmtime::component::bindgen!({
        world: "backup",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "azul:backup/types.event-batch": crate::capabilities::batch::EventBatch,
            "azul:backup/types.body": crate::capabilities::body::Body,
            "azul:backup/statedir.spool": crate::capabilities::statedir::Spool,
            "azul:backup/statedir.journal": crate::capabilities::journal::JournalHandle,
            "azul:backup/statedir.key-set": crate::capabilities::keyset::KeySet,
            "azul:backup/queues.queue": crate::capabilities::queues::QueueHandle,
            "azul:backup/tasks.task": crate::capabilities::tasks::TaskHandle,
        },
    });
}

/// Bindings of the `restore` world.
pub mod restore {
    wasmtime::component::bindgen!({
        world: "restore",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "azul:backup/types": super::backup::azul::backup::types,
            "azul:backup/config": super::backup::azul::backup::config,
            "azul:backup/log": super::backup::azul::backup::log,
            "azul:backup/clock": super::backup::azul::backup::clock,
            "azul:backup/metrics": super::backup::azul::backup::metrics,
            "azul:backup/dispatcher": super::backup::azul::backup::dispatcher,
            "azul:backup/statedir": super::backup::azul::backup::statedir,
            "azul:backup/store": super::backup::azul::backup::store,
            "azul:backup/queues": super::backup::azul::backup::queues,
            "azul:backup/tasks": super::backup::azul::backup::tasks,
        },
    });
}

pub use backup::azul::backup::{
    clock, config, dispatcher, log, metrics, queues, statedir, store, tasks, types,
};
pub use restore::azul::backup::verification;
