//! Model knowledge as data. `src/catalogue.json` (compiled in) describes every endpoint and model
//! we know: fields, allowed values, cross-field rules and cost. This module only interprets it, so
//! adding a model is an edit to the JSON, not to code. The simulator validates with the same data.
//!
//! One idea per file, each using only those listed before it:
//! - `body`: reading request bodies (dotted paths, number equality);
//! - `cost`: the price of a model and the estimate of a request's credits;
//! - `types`: the spec language (media kinds, specs, fields, rules, models);
//! - `operations`: every operation of the API (method, path, query, body, answer);
//! - `load`: parsing the JSON, load-time consistency checks, finding endpoints, models, operations;
//! - `describe`: how values and specs read in messages;
//! - `validate`: checking a request body and its media URIs, and an operation's request.
//!
//! Everything public is re-exported here, so callers name `crate::catalogue::X` only.

mod body;
mod cost;
mod describe;
mod load;
mod operations;
mod types;
mod validate;

pub use body::lookup;
pub use cost::{Cost, CostCase};
pub use load::{catalogue, normalize_endpoint, Catalogue};
pub use operations::{Operation, Returns};
pub use types::{
    field_at, Condition, Endpoint, Field, MaxPerValue, MediaKind, Model, OutputCount, Removed, Rule, Spec, SumOf,
    DATA_URI_MAX_AV, DATA_URI_MAX_IMAGE, TAGS,
};
pub use validate::{check_fields, check_media, valid_tag};

#[cfg(test)]
mod tests;
