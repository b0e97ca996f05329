//! Memory a model will need, estimated from its layer plans before anything is allocated,
//! so an impossible size is a one-line error instead of an allocation failure.
//!
//! The estimate counts, per layer: each trainable weight four times (its value, its gradient
//! and Adam's two slots — the most any nabla optimizer keeps), each non-trainable weight
//! once, and the layer's output twice (value and gradient) for a batch of
//! [`ESTIMATE_BATCH`] samples. All arithmetic is checked, so an overflowing size is refused
//! too. The total is compared with the machine's memory as Linux reports it in
//! `/proc/meminfo` (`MemAvailable`, else `MemTotal`); where that file cannot be read only
//! overflow is refused.

use crate::error::{Error, Result};
use crate::nn::layer::Plan;

/// Samples per batch the activation estimate assumes: Keras's default batch size.
pub const ESTIMATE_BATCH: u64 = 32;

/// Copies of a trainable weight while training: value, gradient, two optimizer slots.
const TRAINABLE_COPIES: u64 = 4;

/// Copies of a layer's output while training: value and gradient.
const ACTIVATION_COPIES: u64 = 2;

/// Bytes of memory available to this process, from `/proc/meminfo`.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .and_then(|kb| kb.checked_mul(1024))
    };
    field("MemAvailable:").or_else(|| field("MemTotal:"))
}

/// A byte count in decimal units, as people read disk and memory sizes: `3.1 TB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `[784, 128]` as `784 × 128`.
fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" × ")
}

/// The running memory estimate of a model being built, and the limit it must stay under.
#[derive(Clone, Debug)]
pub struct Budget {
    available: Option<u64>,
    used: u64,
}

impl Budget {
    /// A budget of this machine's available memory.
    pub fn of_this_machine() -> Self {
        Budget::with_limit(available_memory())
    }

    /// A budget of `available` bytes (`None`: refuse only overflowing sizes).
    pub fn with_limit(available: Option<u64>) -> Self {
        Budget { available, used: 0 }
    }

    /// Bytes the layers admitted so far need.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Adds layer `name`'s needs for elements of `element_bytes` bytes, or refuses it with
    /// a message naming the layer, the weight or output at fault and its size.
    pub fn admit(&mut self, name: &str, plan: &Plan, element_bytes: usize) -> Result<()> {
        let element = element_bytes as u64;
        let mut layer_total: u64 = 0;
        for weight in &plan.weights {
            let what = format!("{} {}", dims_text(&weight.shape), weight.name);
            let bytes = weight
                .shape
                .iter()
                .try_fold(element, |n, &d| n.checked_mul(d as u64))
                .ok_or_else(|| overflow(name, &what))?;
            let copies = if weight.trainable {
                TRAINABLE_COPIES
            } else {
                1
            };
            let training = bytes
                .checked_mul(copies)
                .ok_or_else(|| overflow(name, &what))?;
            if let Some(available) = self.available.filter(|&a| training > a) {
                let extra = if weight.trainable {
                    format!(
                        " ({} with its gradient and optimizer slots)",
                        human_bytes(training)
                    )
                } else {
                    String::new()
                };
                return Err(Error::invalid(format!(
                    "{name}: {what} needs {}{extra}, more than the {} of memory available",
                    human_bytes(bytes),
                    human_bytes(available)
                )));
            }
            layer_total = layer_total
                .checked_add(training)
                .ok_or_else(|| overflow(name, &what))?;
        }
        let what = format!("output {}", dims_text(&plan.output_shape));
        let activations = plan
            .output_shape
            .iter()
            .try_fold(element * ESTIMATE_BATCH * ACTIVATION_COPIES, |n, &d| {
                n.checked_mul(d as u64)
            })
            .ok_or_else(|| overflow(name, &what))?;
        if let Some(available) = self.available.filter(|&a| activations > a) {
            return Err(Error::invalid(format!(
                "{name}: {what} needs {} for a batch of {ESTIMATE_BATCH} (with its gradient), \
                 more than the {} of memory available",
                human_bytes(activations),
                human_bytes(available)
            )));
        }
        let total = layer_total
            .checked_add(activations)
            .and_then(|t| t.checked_add(self.used))
            .ok_or_else(|| overflow(name, "the model"))?;
        if let Some(available) = self.available.filter(|&a| total > a) {
            return Err(Error::invalid(format!(
                "{name}: the model needs {} up to this layer (weights, gradients, optimizer \
                 slots and a batch of {ESTIMATE_BATCH} outputs), more than the {} of memory \
                 available",
                human_bytes(total),
                human_bytes(available)
            )));
        }
        self.used = total;
        Ok(())
    }
}

fn overflow(name: &str, what: &str) -> Error {
    Error::invalid(format!(
        "{name}: {what} needs more memory than this machine can address (over {})",
        human_bytes(u64::MAX)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::{Conv2D, Dense};
    use crate::nn::LayerType;

    const GB: u64 = 1_000_000_000;

    #[test]
    fn a_huge_kernel_is_refused_with_its_layer_and_size() {
        let plan = Dense::new(1_000_000_000).plan("dense", &[784]).unwrap();
        let error = Budget::with_limit(Some(64 * GB))
            .admit("dense", &plan, 4)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("dense: 784 × 1000000000 kernel needs 3.1 TB"),
            "{error}"
        );
        assert!(error.contains("64.0 GB"), "{error}");
    }

    #[test]
    fn overflowing_products_are_refused_even_without_a_limit() {
        let plan = Dense::new(4_000_000_000)
            .plan("dense_1", &[4_000_000_000])
            .unwrap();
        let error = Budget::with_limit(None)
            .admit("dense_1", &plan, 4)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dense_1: 4000000000 × 4000000000 kernel"),
            "{error}"
        );
        assert!(
            error.contains("more memory than this machine can address"),
            "{error}"
        );
    }

    #[test]
    fn a_huge_filter_count_is_refused_by_its_kernel_or_output() {
        let plan = Conv2D::new(1 << 40, 3)
            .plan("conv2d", &[28, 28, 1])
            .unwrap();
        let error = Budget::with_limit(Some(64 * GB))
            .admit("conv2d", &plan, 4)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("conv2d: 3 × 3 × 1 × 1099511627776 kernel"),
            "{error}"
        );
    }

    #[test]
    fn the_total_is_refused_at_the_layer_that_passes_the_limit() {
        // 784·128 + 128 = 100,480 trainable f32s: 1,607,680 bytes with gradient and two
        // slots, plus 32·128·4·2 = 32,768 bytes of outputs.
        let plan = Dense::new(128).plan("dense", &[784]).unwrap();
        let mut budget = Budget::with_limit(Some(2_000_000));
        budget.admit("dense", &plan, 4).unwrap();
        assert_eq!(budget.used(), 1_607_680 + 32_768);
        let error = budget.admit("dense_1", &plan, 4).unwrap_err().to_string();
        assert!(
            error.starts_with("dense_1: the model needs 3.3 MB"),
            "{error}"
        );
    }

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(3_136_000_000_000), "3.1 TB");
        assert_eq!(human_bytes(u64::MAX), "18.4 EB");
    }

    #[test]
    fn this_machine_reports_some_memory() {
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(available_memory().unwrap() > 0);
        }
    }
}
