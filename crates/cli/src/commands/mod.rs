pub mod run;
pub mod summary;
pub mod trace;
