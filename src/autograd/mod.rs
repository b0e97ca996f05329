//! Reverse-mode automatic differentiation on a tape.
//!
//! Every op evaluates eagerly and, while recording, pushes a node holding its output and
//! the small rule that sends the output's gradient back to its inputs. `Tape::backward`
//! walks the nodes in reverse, which is already a topological order.
//!
//! ```
//! use nabla::autograd::{ParamStore, Tape};
//! use nabla::ops;
//! use nabla::tensor::Tensor;
//!
//! let mut params = ParamStore::<f64>::default();
//! let w = params.add("w", Tensor::from_vec(vec![2.0, -1.0], [2])?, true);
//! let mut tape = Tape::new(&mut params);
//! let wv = tape.param(w);
//! let sq = ops::mul(&mut tape, wv, wv)?;     // w²
//! let loss = ops::sum(&mut tape, sq);        // Σ w²
//! tape.backward(loss)?;
//! assert_eq!(tape.grad(wv).unwrap().data(), &[4.0, -2.0]); // 2w
//! # Ok::<(), nabla::Error>(())
//! ```

pub mod check;
mod params;
mod pool;
mod tape;

pub use params::{Gradients, Param, ParamId, ParamStore};
pub use pool::BufferPool;
pub use tape::{Backward, GradSink, GradSlot, OpIo, Tape, Var};
