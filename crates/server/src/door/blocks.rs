//! Guests blocked by moderators, by name (with its look-alikes) or by
//! client address, kept in memory so that a guest's every write is
//! checked without a query. Each server loads them at start, again when
//! this server or another (told over `NOTIFY`, see
//! [`crate::door::presence`]) changes them, and every
//! [`RELOAD_EVERY`] in case a notification was lost.

use std::{
    net::IpAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use shared::moderation::{Block, BlockKind};
use tokio_util::sync::CancellationToken;

use crate::{
    edge::client::client_key,
    log::store::{Store, StoreError},
};

/// How often the blocks are read again from the database anyway.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The blocks; cheap to clone.
#[derive(Clone, Debug)]
pub struct Blocks {
    store: Store,
    /// Every block with its key (a name's key, or a client key), newest
    /// first; ended ones are dropped at the next load.
    held: Arc<RwLock<Vec<(String, Block)>>>,
}

impl Blocks {
    /// Loads the blocks, and reloads them whenever `changed` changes
    /// (another server changed them) and every [`RELOAD_EVERY`], until
    /// `stop`.
    pub async fn start(
        store: Store,
        mut changed: tokio::sync::watch::Receiver<u64>,
        stop: CancellationToken,
    ) -> Result<Self, StoreError> {
        let blocks = Self {
            store,
            held: Arc::default(),
        };
        blocks.reload().await?;
        let reloading = blocks.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(RELOAD_EVERY);
            every.tick().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = every.tick() => {}
                    told = changed.changed() => {
                        if told.is_err() {
                            return;
                        }
                    }
                }
                if let Err(err) = reloading.reload().await {
                    tracing::warn!(error = %err, "could not read the blocks");
                }
            }
        });
        Ok(blocks)
    }

    /// Reads the blocks again from the database.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut blocks = self.store.blocks().await?;
        blocks.retain(|(_, block)| holds(block, now));
        *self
            .held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = blocks;
        Ok(())
    }

    /// The blocks that hold now, newest first.
    pub fn list(&self) -> Vec<Block> {
        let now = Utc::now();
        self.read()
            .iter()
            .filter(|(_, block)| holds(block, now))
            .map(|(_, block)| block.clone())
            .collect()
    }

    /// The block that holds against a guest from `client` (by its
    /// address) or, `name` given, under that name (by its key), if any.
    pub fn against(&self, client: IpAddr, name: Option<&str>) -> Option<Block> {
        let held = self.read();
        if held.is_empty() {
            // Most of the time: every guest write passes here, and a name's
            // key is its skeleton, worked out again by the accounts' check.
            return None;
        }
        let now = Utc::now();
        let address = client_key(client).to_string();
        let name = name.map(shared::names::name_key);
        held.iter()
            .find(|(key, block)| {
                holds(block, now)
                    && match block.kind {
                        BlockKind::Address => *key == address,
                        BlockKind::Name => name.as_ref() == Some(key),
                    }
            })
            .map(|(_, block)| block.clone())
    }

    /// Blocks guests by `kind` (`value` a guest's name, or an address),
    /// as `by`: the block's id. Read again at once.
    pub async fn add(
        &self,
        kind: BlockKind,
        value: &str,
        until: Option<DateTime<Utc>>,
        reason: Option<&str>,
        by: &str,
    ) -> Result<i64, StoreError> {
        let (key, shown) = match kind {
            BlockKind::Name => (shared::names::name_key(value), value.to_owned()),
            BlockKind::Address => {
                let key = value
                    .parse::<IpAddr>()
                    .map(client_key)
                    .map_or_else(|_| value.to_owned(), |ip| ip.to_string());
                let shown = match key.parse::<IpAddr>() {
                    Ok(IpAddr::V6(_)) => format!("{key}/64"),
                    _ => key.clone(),
                };
                (key, shown)
            }
        };
        let id = self
            .store
            .block(kind, &key, &shown, until, reason, by, Utc::now())
            .await?;
        self.reload().await?;
        Ok(id)
    }

    /// Removes block `id` as `by`: what it blocked, if it was there.
    pub async fn remove(&self, id: i64, by: &str) -> Result<Option<String>, StoreError> {
        let removed = self.store.unblock(id, by, Utc::now()).await?;
        self.reload().await?;
        Ok(removed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(String, Block)>> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `block` holds at `now`.
fn holds(block: &Block, now: DateTime<Utc>) -> bool {
    block.until.is_none_or(|until| until > now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    fn ip(address: &str) -> IpAddr {
        address.parse().expect("an address")
    }

    #[tokio::test]
    async fn a_block_holds_for_its_name_and_look_alikes_or_its_address_and_its_64() {
        let (_dir, store) = temp_store().await;
        let stop = CancellationToken::new();
        let (_told, changed) = tokio::sync::watch::channel(0);
        let blocks = Blocks::start(store, changed, stop.clone())
            .await
            .expect("loads");
        let elsewhere = ip("192.0.2.1");
        blocks
            .add(BlockKind::Name, "Spammer", None, Some("spam"), "mo")
            .await
            .expect("stores");
        assert!(blocks.against(elsewhere, Some("spammer")).is_some());
        assert!(
            blocks.against(elsewhere, Some("Spаmmer")).is_some(),
            "Cyrillic а"
        );
        assert!(blocks.against(elsewhere, Some("bob")).is_none());
        assert!(blocks.against(elsewhere, None).is_none());

        let v6 = blocks
            .add(BlockKind::Address, "2001:db8:1:2::5", None, None, "mo")
            .await
            .expect("stores");
        assert!(
            blocks.against(ip("2001:db8:1:2:ffff::1"), None).is_some(),
            "its /64"
        );
        assert!(
            blocks.against(ip("2001:db8:1:3::1"), None).is_none(),
            "another /64"
        );
        blocks
            .add(BlockKind::Address, "198.51.100.7", None, None, "mo")
            .await
            .expect("stores");
        assert!(blocks.against(ip("198.51.100.7"), Some("bob")).is_some());
        assert!(blocks.against(ip("198.51.100.8"), Some("bob")).is_none());

        let listed: Vec<String> = blocks.list().into_iter().map(|b| b.value).collect();
        assert_eq!(listed, ["198.51.100.7", "2001:db8:1:2::/64", "Spammer"]);
        assert_eq!(
            blocks.remove(v6, "mo").await.expect("stores"),
            Some("2001:db8:1:2::/64".to_owned())
        );
        assert!(blocks.against(ip("2001:db8:1:2::5"), None).is_none());
        assert_eq!(blocks.remove(v6, "mo").await.expect("stores"), None);
        stop.cancel();
    }

    #[tokio::test]
    async fn a_block_that_ended_holds_no_more() {
        let (_dir, store) = temp_store().await;
        let stop = CancellationToken::new();
        let (_told, changed) = tokio::sync::watch::channel(0);
        let blocks = Blocks::start(store, changed, stop.clone())
            .await
            .expect("loads");
        let past = Utc::now() - chrono::Duration::seconds(1);
        blocks
            .add(BlockKind::Name, "gone", Some(past), None, "mo")
            .await
            .expect("stores");
        assert!(blocks.against(ip("192.0.2.1"), Some("gone")).is_none());
        assert!(blocks.list().is_empty());
        stop.cancel();
    }
}
