//! Password attempts on share links in DynamoDB: a window start and a count on the share item,
//! changed only by conditional updates, so every instance of the API shares one count.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use super::super::items::{ATTEMPTS, ATTEMPTS_SINCE, Item, decode_attempts, n, nanos, share_key};
use super::{DynamoMetadataStore, backend, is_condition_failure, names, values};
use crate::domain::ShareToken;
use crate::domain::share::AttemptPolicy;
use crate::ports::{AttemptReservation, MetadataError};

/// Rounds of "add to the window, else start one, else look" before refusing. A round is lost only
/// when another request changed the window in between, which a window allows a few times.
const ROUNDS: usize = 8;

impl DynamoMetadataStore {
    /// One conditional update of a share's attempts; the item as it is after, or `None` when
    /// the condition failed.
    async fn update_attempts(
        &self,
        token: &ShareToken,
        update: &str,
        condition: &str,
        vals: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(share_key(token)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[
                ("#since", ATTEMPTS_SINCE),
                ("#count", ATTEMPTS),
            ])))
            .set_expression_attribute_values(Some(values(vals)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(err) if is_condition_failure(&err) => Ok(None),
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }

    pub(super) async fn reserve_attempt(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
        policy: AttemptPolicy,
    ) -> Result<AttemptReservation, MetadataError> {
        // A window that started after this instant is still open.
        let open_after = nanos(now - policy.window);
        for _ in 0..ROUNDS {
            // One more attempt in the open window, while it has room.
            let added = self
                .update_attempts(
                    token,
                    "SET #count = #count + :one",
                    "attribute_exists(PK) AND #since > :open_after AND #count < :max",
                    vec![
                        (":one", n(1)),
                        (":open_after", open_after.clone()),
                        (":max", n(policy.max)),
                    ],
                )
                .await?;
            if let Some(item) = added {
                let window = decode_attempts(&item)?.ok_or_else(|| {
                    MetadataError::Backend("attempt window missing after an update".to_owned())
                })?;
                return Ok(AttemptReservation::Granted {
                    window: window.since,
                });
            }
            // A new window, when there is none yet or the last one has closed.
            let started = self
                .update_attempts(
                    token,
                    "SET #since = :now, #count = :one",
                    "attribute_exists(PK) AND (attribute_not_exists(#since) OR #since <= :open_after)",
                    vec![
                        (":now", nanos(now)),
                        (":one", n(1)),
                        (":open_after", open_after.clone()),
                    ],
                )
                .await?;
            if started.is_some() {
                return Ok(AttemptReservation::Granted { window: now });
            }
            // Neither: the link is gone, the window is full, or another request changed it
            // between the two updates (then go round again).
            let Some(item) = self.get(share_key(token)).await? else {
                return Ok(AttemptReservation::NotFound);
            };
            if let Err(retry_at) = policy.reserve(decode_attempts(&item)?, now) {
                return Ok(AttemptReservation::Refused { retry_at });
            }
        }
        // Never let a guess through unchecked: refuse this one.
        Ok(AttemptReservation::Refused {
            retry_at: now + policy.window,
        })
    }

    pub(super) async fn refund_attempt(
        &self,
        token: &ShareToken,
        window: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        self.update_attempts(
            token,
            "SET #count = #count - :one",
            "#since = :since AND #count > :zero",
            vec![(":one", n(1)), (":since", nanos(window)), (":zero", n(0))],
        )
        .await?;
        Ok(())
    }
}
