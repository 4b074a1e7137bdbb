//! Automatic age-off (`BK__ENABLE_AUTOMATIC_AGEOFF`): S3 lifecycle rules that expire a
//! source's backup once Azul itself would have aged its events off.
//!
//! Kept from the original: one rule per configured source (excluded ones too) named
//! `BackupExpiryFor-<source>`, expiring `1 + expire_events_after` days after upload, on both
//! buckets; `BK__ENABLE_AUTOMATIC_AGEOFF_CLEANUP` removes them when age-off is off.
//! Fixed: a source that Azul keeps forever gets no rule (the original gave it one day and so
//! deleted its backups daily; such a rule left behind is removed); in shared-bucket mode the
//! rules cover `<folder>/<source>/` (the original's `<source>/` matched nothing of the backup).
//! Rules are only managed by `backup`: `restore`, `verify` and `drill` never change a bucket.
//! "system" is never aged off: its insert/delete events describe every source.

use crate::objectstore::{ExpiryRule, S3Store, StoreError};
use crate::settings::Settings;

const ID_PREFIX: &str = "BackupExpiryFor-";

/// The rules to hold on one bucket (or one folder of the shared bucket), and the rule ids
/// this service owns there (any of them not wanted is removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub wanted: Vec<ExpiryRule>,
    pub owned: Vec<String>,
}

/// `None` when age-off is off and no cleanup was asked for: the bucket's rules are left alone.
pub fn plan(settings: &Settings, folder: Option<&str>) -> Option<Plan> {
    if !settings.enable_automatic_ageoff && !settings.enable_automatic_ageoff_cleanup {
        return None;
    }
    let mut plan = Plan::default();
    for (source, config) in &settings.sources {
        let (id, prefix) = match folder {
            None => (format!("{ID_PREFIX}{source}"), format!("{source}/")),
            Some(folder) => {
                // The original's rule for this source, misdirected in shared-bucket mode.
                plan.owned.push(format!("{ID_PREFIX}{source}"));
                (
                    format!("{ID_PREFIX}{source}-in-{folder}"),
                    format!("{folder}/{source}/"),
                )
            }
        };
        plan.owned.push(id.clone());
        // Sources were validated when the settings were read.
        let days = config.expire_days().ok().flatten();
        if let (true, Some(days)) = (settings.enable_automatic_ageoff, days) {
            plan.wanted.push(ExpiryRule {
                id,
                prefix,
                days: i32::try_from(days.saturating_add(1)).unwrap_or(i32::MAX),
            });
        }
    }
    Some(plan)
}

/// Brings `store`'s rules in line with `plan` and logs what changed.
pub async fn apply(store: &S3Store, plan: &Plan) -> Result<(), StoreError> {
    let changes = store.sync_expiry_rules(&plan.wanted, &plan.owned).await?;
    let bucket = store.bucket();
    for id in &changes.added {
        tracing::info!("age-off: added lifecycle rule {id} to bucket {bucket:?}");
    }
    for id in &changes.updated {
        tracing::info!("age-off: updated lifecycle rule {id} on bucket {bucket:?}");
    }
    for id in &changes.removed {
        tracing::warn!("age-off: removed lifecycle rule {id} from bucket {bucket:?}");
    }
    if changes.is_empty() {
        tracing::info!("age-off: lifecycle rules of bucket {bucket:?} already as configured");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_sources;

    fn settings(ageoff: bool, cleanup: bool) -> Settings {
        Settings {
            enable_automatic_ageoff: ageoff,
            enable_automatic_ageoff_cleanup: cleanup,
            sources: parse_sources(
                "sources:\n  samples:\n    expire_events_after: 3 months\n  \
                 testing:\n    exclude_from_backup: true\n    expire_events_after: 7 days\n  \
                 forever: {}\n",
            )
            .unwrap(),
            ..Settings::default()
        }
    }

    fn rule(id: &str, prefix: &str, days: i32) -> ExpiryRule {
        ExpiryRule {
            id: id.into(),
            prefix: prefix.into(),
            days,
        }
    }

    #[test]
    fn off_leaves_the_bucket_alone() {
        assert_eq!(plan(&settings(false, false), None), None);
    }

    #[test]
    fn rules_follow_expiry_and_sources_kept_forever_get_none() {
        let plan = plan(&settings(true, false), None).unwrap();
        assert_eq!(
            plan.wanted,
            vec![
                rule("BackupExpiryFor-samples", "samples/", 91),
                rule("BackupExpiryFor-testing", "testing/", 8),
            ]
        );
        assert!(plan.owned.contains(&"BackupExpiryFor-forever".to_string()));
    }

    #[test]
    fn shared_bucket_rules_cover_the_folder() {
        let plan = plan(&settings(true, false), Some("azul-backup-1-events")).unwrap();
        assert_eq!(
            plan.wanted[0],
            rule(
                "BackupExpiryFor-samples-in-azul-backup-1-events",
                "azul-backup-1-events/samples/",
                91
            )
        );
        assert!(plan.owned.contains(&"BackupExpiryFor-samples".to_string()));
    }

    #[test]
    fn cleanup_removes_every_owned_rule() {
        let plan = plan(&settings(false, true), None).unwrap();
        assert!(plan.wanted.is_empty());
        assert_eq!(plan.owned.len(), 3);
    }
}
