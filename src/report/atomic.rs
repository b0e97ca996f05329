//! Atomic writes live in `crate::files` (training saves models with them too, and `train` sits
//! below `report`); this path stays for the plots and the HTML report.

pub use crate::files::write_atomic;
