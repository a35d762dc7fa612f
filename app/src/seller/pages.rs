//! The seller admin pages.
