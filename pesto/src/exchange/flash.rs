//! Flash messages: one-shot notes for the next page a user sees ("Saved", "Wrong password"),
//! kept in the session beside its data, shown exactly once.
//!
//! A handler adds one with [`Session::flash`](super::Session::flash); the page that shows it takes
//! them all with [`Session::take_flashes`](super::Session::take_flashes), after which they are
//! gone. Messages not taken stay for a later request, so a flash survives a redirect, and one
//! added after `invalidate()` (a logout) starts a new session that carries it.

use serde::{Deserialize, Serialize};

/// How a [`Flash`] should be shown, as Django's message levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashLevel {
    /// Development detail.
    Debug,
    /// Information.
    Info,
    /// An action succeeded.
    Success,
    /// Something to look at.
    Warning,
    /// An action failed.
    Error,
}

impl FlashLevel {
    /// The level's name, lower case (`"info"`): a CSS class, say.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashLevel::Debug => "debug",
            FlashLevel::Info => "info",
            FlashLevel::Success => "success",
            FlashLevel::Warning => "warning",
            FlashLevel::Error => "error",
        }
    }
}

/// One flash message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// How to show it.
    pub level: FlashLevel,
    /// The text (not HTML: escape it when rendering, as templates do).
    pub message: String,
}
