//! The CRM flags the engine sets (the blacklist, a write-off), read from its store for the
//! inference service's eligibility decisions (`forbear serve --engine-store`). The store is
//! synchronous: the service calls it off its async workers (`spawn_blocking`).

use forbear_core::AccountId;
use forbear_engine::{AccountState, Store};
use forbear_serve::{CrmFlags, CrmLookup};
use std::sync::Mutex;

/// Reads accounts' CRM flags from an engine store.
pub struct EngineCrm(Mutex<Box<dyn Store>>);

impl EngineCrm {
    /// Over an open store.
    pub fn new(store: Box<dyn Store>) -> EngineCrm {
        EngineCrm(Mutex::new(store))
    }
}

impl std::fmt::Debug for EngineCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineCrm")
    }
}

impl CrmLookup for EngineCrm {
    fn flags(&self, id: i64) -> Result<Option<CrmFlags>, String> {
        let Ok(account) = AccountId::new(id) else {
            return Ok(None);
        };
        let events = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .events(account)
            .map_err(|e| e.to_string())?;
        if events.is_empty() {
            return Ok(None);
        }
        let now = chrono::Utc::now();
        let (blacklisted, days_since_write_off) =
            AccountState::replay(account, &events, Some(now)).crm_flags(now);
        Ok(Some(CrmFlags {
            blacklisted,
            days_since_write_off,
        }))
    }
}
