//! Doctests for the guides in docs/.
