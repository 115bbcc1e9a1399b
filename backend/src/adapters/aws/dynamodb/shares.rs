//! Share items (`SHARE#{token}`) and their index under the owner (`USER#…`, `SHARE#…`): listing,
//! revoking and counting downloads.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use super::super::items::{
    self, SHARE_INDEX_PREFIX, SK, decode_share, n, nanos, req_str, s, share_key,
};
use super::{DynamoMetadataStore, backend, is_condition_failure, names, values};
use crate::domain::share::{ShareState, state_at};
use crate::domain::{ShareRecord, ShareToken, UserId};
use crate::ports::{DownloadCount, MetadataError, MetadataStore, Transition};

impl DynamoMetadataStore {
    /// The owner's share index items (`SK`, token), newest first.
    pub(super) async fn share_index(
        &self,
        owner: &UserId,
    ) -> Result<Vec<(String, String)>, MetadataError> {
        let index = self.owner_index(owner, SHARE_INDEX_PREFIX, true).await?;
        index
            .iter()
            .map(|item| {
                Ok((
                    req_str(item, SK)?.to_owned(),
                    req_str(item, "token")?.to_owned(),
                ))
            })
            .collect()
    }

    /// Share items by token, in no particular order; tokens without an item are skipped.
    pub(super) async fn shares_by_token(
        &self,
        tokens: &[String],
    ) -> Result<Vec<ShareRecord>, MetadataError> {
        let keys = tokens
            .iter()
            .map(|t| items::key(format!("SHARE#{t}"), items::SHARE_SK.to_owned()))
            .collect();
        self.batch_get(keys)
            .await?
            .iter()
            .map(decode_share)
            .collect()
    }
}

pub(super) async fn list(
    store: &DynamoMetadataStore,
    owner: &UserId,
) -> Result<Vec<ShareRecord>, MetadataError> {
    let index = store.share_index(owner).await?;
    let tokens: Vec<String> = index.iter().map(|(_, token)| token.clone()).collect();
    let mut by_token: HashMap<String, ShareRecord> = store
        .shares_by_token(&tokens)
        .await?
        .into_iter()
        .filter(|share| share.owner == *owner)
        .map(|share| (share.token.to_string(), share))
        .collect();
    Ok(tokens.iter().filter_map(|t| by_token.remove(t)).collect())
}

pub(super) async fn revoke(
    store: &DynamoMetadataStore,
    owner: &UserId,
    token: &ShareToken,
) -> Result<Transition, MetadataError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(share_key(token)))
        .update_expression("SET revoked = :yes")
        .condition_expression("attribute_exists(PK) AND #owner = :owner AND revoked = :no")
        .set_expression_attribute_names(Some(names(&[("#owner", "owner")])))
        .set_expression_attribute_values(Some(values(vec![
            (":yes", AttributeValue::Bool(true)),
            (":no", AttributeValue::Bool(false)),
            (":owner", s(owner.as_str())),
        ])))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Transition::Applied),
        Err(err) if is_condition_failure(&err) => Ok(match store.share(token).await? {
            Some(share) if share.owner == *owner => Transition::Unchanged,
            _ => Transition::Missing,
        }),
        Err(err) => Err(backend("UpdateItem", &err)),
    }
}

pub(super) async fn count_download(
    store: &DynamoMetadataStore,
    token: &ShareToken,
    now: OffsetDateTime,
) -> Result<DownloadCount, MetadataError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(share_key(token)))
        .update_expression("SET downloads = downloads + :one")
        .condition_expression(
            "attribute_exists(PK) AND revoked = :no AND expires_at > :now \
             AND (attribute_not_exists(max_downloads) OR downloads < max_downloads)",
        )
        .set_expression_attribute_values(Some(values(vec![
            (":one", n(1)),
            (":no", AttributeValue::Bool(false)),
            (":now", nanos(now)),
        ])))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => {
            let item = out.attributes.ok_or_else(|| {
                MetadataError::Backend("DynamoDB UpdateItem returned no attributes".to_owned())
            })?;
            Ok(DownloadCount::Counted(Box::new(decode_share(&item)?)))
        }
        Err(err) if is_condition_failure(&err) => Ok(match store.share(token).await? {
            None => DownloadCount::NotFound,
            Some(share) => match state_at(&share, now) {
                ShareState::Revoked => DownloadCount::Revoked,
                ShareState::Expired => DownloadCount::Expired,
                // `Live` only if the last download was returned meanwhile, which never
                // happens: counting is one-way.
                ShareState::Exhausted | ShareState::Live => DownloadCount::Exhausted,
            },
        }),
        Err(err) => Err(backend("UpdateItem", &err)),
    }
}
