//! Expiry ("age-off") lifecycle rules on a bucket: the rules this service owns are brought to
//! the wanted state, every other rule on the bucket is kept as it is.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};

use super::S3Store;
use super::errors::sdk_error;
use crate::objectstore::StoreError;

/// Objects under `prefix` expire `days` after they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryRule {
    pub id: String,
    pub prefix: String,
    pub days: i32,
}

/// What [`S3Store::sync_expiry_rules`] changed, by rule id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LifecycleChanges {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

impl LifecycleChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

fn matches(rule: &LifecycleRule, wanted: &ExpiryRule) -> bool {
    #[allow(deprecated)] // rules written by older tools carry the prefix outside the filter
    let prefix = rule
        .filter()
        .and_then(|f| f.prefix())
        .or_else(|| rule.prefix());
    let only_prefix = rule
        .filter()
        .is_none_or(|f| f.tag().is_none() && f.and().is_none());
    prefix == Some(wanted.prefix.as_str())
        && only_prefix
        && rule.status() == &ExpirationStatus::Enabled
        && rule.expiration().and_then(|e| e.days()) == Some(wanted.days)
}

fn to_sdk(rule: &ExpiryRule) -> Result<LifecycleRule, StoreError> {
    LifecycleRule::builder()
        .id(&rule.id)
        .filter(LifecycleRuleFilter::builder().prefix(&rule.prefix).build())
        .status(ExpirationStatus::Enabled)
        .expiration(LifecycleExpiration::builder().days(rule.days).build())
        .build()
        .map_err(|e| StoreError::Other {
            key: rule.id.clone(),
            message: format!("lifecycle rule {}: {e}", rule.id),
        })
}

/// The new rule list, or `None` when nothing has to change. Rules whose id is in `owned` but
/// not in `wanted` are removed; rules with other ids are never touched.
fn plan(
    current: &[LifecycleRule],
    wanted: &[ExpiryRule],
    owned: &[String],
) -> Result<Option<(Vec<LifecycleRule>, LifecycleChanges)>, StoreError> {
    let mut changes = LifecycleChanges::default();
    let mut next = Vec::with_capacity(current.len() + wanted.len());
    for rule in current {
        let id = rule.id().unwrap_or_default();
        match wanted.iter().find(|w| w.id == id) {
            Some(w) if matches(rule, w) => next.push(rule.clone()),
            Some(w) => {
                changes.updated.push(w.id.clone());
                next.push(to_sdk(w)?);
            }
            None if owned.iter().any(|o| o == id) => changes.removed.push(id.to_owned()),
            None => next.push(rule.clone()),
        }
    }
    for w in wanted {
        if !current.iter().any(|r| r.id() == Some(w.id.as_str())) {
            changes.added.push(w.id.clone());
            next.push(to_sdk(w)?);
        }
    }
    Ok((!changes.is_empty()).then_some((next, changes)))
}

impl S3Store {
    /// The bucket's lifecycle rules (none when it has no lifecycle configuration).
    pub async fn lifecycle_rules(&self) -> Result<Vec<LifecycleRule>, StoreError> {
        let bucket = &self.bucket;
        match self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out.rules().to_vec()),
            Err(err) if err.code() == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
            Err(err) => Err(sdk_error(
                "GetBucketLifecycleConfiguration",
                bucket,
                bucket,
                err,
            )),
        }
    }

    /// Brings the rules named in `wanted` to their wanted state and removes those in `owned`
    /// that are not wanted; writes the configuration only when something changed.
    pub async fn sync_expiry_rules(
        &self,
        wanted: &[ExpiryRule],
        owned: &[String],
    ) -> Result<LifecycleChanges, StoreError> {
        let bucket = &self.bucket;
        let current = self.lifecycle_rules().await?;
        let Some((rules, changes)) = plan(&current, wanted, owned)? else {
            return Ok(LifecycleChanges::default());
        };
        if rules.is_empty() {
            // S3 refuses a configuration without rules: remove the configuration instead.
            self.client
                .delete_bucket_lifecycle()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteBucketLifecycle", bucket, bucket, e))?;
        } else {
            let config = BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(|e| StoreError::Other {
                    key: bucket.clone(),
                    message: format!("lifecycle configuration: {e}"),
                })?;
            self.client
                .put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .lifecycle_configuration(config)
                .send()
                .await
                .map_err(|e| sdk_error("PutBucketLifecycleConfiguration", bucket, bucket, e))?;
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, prefix: &str, days: i32) -> ExpiryRule {
        ExpiryRule {
            id: id.into(),
            prefix: prefix.into(),
            days,
        }
    }

    #[test]
    fn unchanged_rules_mean_no_write_and_foreign_rules_stay() {
        let foreign = to_sdk(&rule("operator-own", "logs/", 3)).unwrap();
        let ours = to_sdk(&rule("BackupExpiryFor-a", "a/", 31)).unwrap();
        let current = vec![foreign.clone(), ours];
        let wanted = [rule("BackupExpiryFor-a", "a/", 31)];
        assert!(plan(&current, &wanted, &[]).unwrap().is_none());

        let owned = ["BackupExpiryFor-a".to_string()];
        let (next, changes) = plan(&current, &[], &owned).unwrap().unwrap();
        assert_eq!(next, vec![foreign.clone()]);
        assert_eq!(changes.removed, vec!["BackupExpiryFor-a".to_string()]);

        let wanted = [
            rule("BackupExpiryFor-a", "a/", 8),
            rule("BackupExpiryFor-b", "b/", 2),
        ];
        let (next, changes) = plan(&current, &wanted, &owned).unwrap().unwrap();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0], foreign);
        assert_eq!(changes.updated, vec!["BackupExpiryFor-a".to_string()]);
        assert_eq!(changes.added, vec!["BackupExpiryFor-b".to_string()]);
    }
}
