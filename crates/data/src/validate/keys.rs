//! Primary keys and the references to them: uniqueness, and lookups for foreign keys.

use super::ValidationReport;

/// The ids of a table, sorted, with their positions in file order (for row numbers).
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    ids: Vec<i64>,
    /// Position in arrival order of each sorted id; empty when arrival order was already sorted.
    order: Vec<u32>,
}

impl IdIndex {
    /// Position in arrival order of `id`, if present.
    pub(crate) fn position(&self, id: i64) -> Option<usize> {
        let k = self.ids.binary_search(&id).ok()?;
        Some(if self.order.is_empty() {
            k
        } else {
            self.order[k] as usize
        })
    }

    pub(crate) fn contains(&self, id: i64) -> bool {
        self.ids.binary_search(&id).is_ok()
    }
}

/// Collects a table's ids in arrival order, with the file and row of each.
#[derive(Debug)]
pub(crate) struct IdCollector {
    column: &'static str,
    ids: Vec<i64>,
    /// (file, first arrival position) of each file, in order.
    files: Vec<(String, usize)>,
    sorted: bool,
}

impl IdCollector {
    pub(crate) fn new(column: &'static str) -> Self {
        IdCollector {
            column,
            ids: Vec::new(),
            files: Vec::new(),
            sorted: true,
        }
    }

    /// Records the id of the next row of `file` (rows arrive in order).
    pub(crate) fn push(&mut self, file: &str, id: i64) {
        if self.files.last().is_none_or(|(f, _)| f != file) {
            self.files.push((file.to_owned(), self.ids.len()));
        }
        if let Some(&last) = self.ids.last() {
            self.sorted &= id > last;
        }
        self.ids.push(id);
    }

    fn locate(&self, position: usize) -> (&str, u64) {
        let k = self.files.partition_point(|(_, start)| *start <= position) - 1;
        let (file, start) = &self.files[k];
        (file, (position - start) as u64 + 1)
    }

    /// Reports duplicates and builds the lookup index.
    pub(crate) fn finish(self, report: &mut ValidationReport) -> IdIndex {
        if self.sorted {
            return IdIndex {
                ids: self.ids,
                order: Vec::new(),
            };
        }
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_by_key(|&k| (self.ids[k as usize], k));
        let mut ids = Vec::with_capacity(order.len());
        let mut kept = Vec::with_capacity(order.len());
        for w in 0..order.len() {
            let k = order[w] as usize;
            let id = self.ids[k];
            if w > 0 && self.ids[order[w - 1] as usize] == id {
                let (file, row) = self.locate(k);
                let first = kept.last().copied().unwrap_or(0) as usize;
                let (first_file, first_row) = self.locate(first);
                let also = if first_file == file {
                    format!("row {first_row}")
                } else {
                    format!("{first_file} row {first_row}")
                };
                report.add(
                    file,
                    Some(self.column),
                    Some(row),
                    format!("duplicate id {id} (first at {also})"),
                );
                continue;
            }
            ids.push(id);
            kept.push(k as u32);
        }
        IdIndex { ids, order: kept }
    }
}

/// Accounts: ids, time zones (for local-time checks of contacts) and parent references.
#[derive(Debug)]
pub(crate) struct AccountCollector {
    pub(crate) ids: IdCollector,
    /// Time zone of each account in arrival order (`None` when its name was not a zone).
    pub(crate) zones: Vec<Option<chrono_tz::Tz>>,
    /// (file, row, parent id) of every child account.
    pub(crate) parents: Vec<(String, u64, i64)>,
}

impl Default for AccountCollector {
    fn default() -> Self {
        AccountCollector {
            ids: IdCollector::new("account_id"),
            zones: Vec::new(),
            parents: Vec::new(),
        }
    }
}

impl AccountCollector {
    pub(crate) fn finish(self, report: &mut ValidationReport) -> AccountIndex {
        let ids = self.ids.finish(report);
        for (file, row, parent) in &self.parents {
            if !ids.contains(*parent) {
                report.add(
                    file,
                    Some("parent_account_id"),
                    Some(*row),
                    format!("parent account {parent} is not in accounts"),
                );
            }
        }
        AccountIndex {
            ids,
            zones: self.zones,
        }
    }
}

/// Accounts as the other tables look them up.
#[derive(Debug)]
pub(crate) struct AccountIndex {
    ids: IdIndex,
    zones: Vec<Option<chrono_tz::Tz>>,
}

impl AccountIndex {
    pub(crate) fn contains(&self, id: i64) -> bool {
        self.ids.contains(id)
    }

    /// The account's time zone, if the account exists and its zone is valid.
    pub(crate) fn zone(&self, id: i64) -> Option<chrono_tz::Tz> {
        self.ids
            .position(id)
            .and_then(|p| self.zones.get(p).copied().flatten())
    }
}

/// What the tables after `accounts` and `invoices` refer to.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) accounts: AccountIndex,
    pub(crate) invoices: IdIndex,
}
