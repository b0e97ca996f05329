//! Matrix products through the `gemm` crate, with transposes as strides instead of copies.
//!
//! `benches/gemm_choice.rs` measures it against `matrixmultiply` on the MLP's and the CNNs'
//! shapes: `gemm` packs less for the tall, narrow products of im2col convolutions (1.5-7x
//! faster there) and is level or ahead on the MLP's.

use super::simd::wide_simd_fn;
use super::Float;
use std::any::Any;
use std::cell::RefCell;

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    No,
    Yes,
}

/// Multiply-adds in one block of a product's output: the unit of work the threads share.
/// Below two blocks' worth a product runs whole on one thread, where splitting would cost
/// more than it saves. At 1M the 784-128-10 MLP's 32×784·784×128 (3.2M) and its weight
/// gradient are split in two: its epoch took 0.78× the time it took at 2M, fastest of 4
/// epochs, median of 4 interleaved runs on 2 cores of an AVX-512 processor; 0.93× for the
/// 784-128-64-10 MLP, 0.96-0.97× for the 784-500-300-10 and the CIFAR MLPs, and the CNNs
/// level.
const BLOCK_WORK: usize = 1 << 20;

/// The fewest rows or columns in a block: every block reads all of the operand the cut does
/// not divide, so narrower blocks spend more on reading it again than they save.
const MIN_BLOCK: usize = 64;

/// The most blocks one product is cut into.
const MOST_BLOCKS: usize = 8;

/// Blocks start on multiples of this many rows or columns: whole register tiles of the
/// gemm crate's kernels.
const BLOCK_ALIGN: usize = 16;

/// Output columns in the widest register tile of the gemm crate's f32 kernels on AVX-512
/// (four vectors of 16; the columns of a row-major product are its vector side). A block of
/// columns that is whole tiles wide needs no narrower tile at its edge: the 784-500-300-10
/// MLP's 128×784·784×500 cut into 128+128+128+116 columns instead of 112+128+128+132 ran at
/// 1.34-1.36 times the gemm crate's own two threads instead of 1.20 (`cargo bench --bench
/// gemm_threads`, two runs on a Zen 4 EPYC).
const TILE_COLUMNS: usize = 64;

/// The largest output (m×n elements) whose product may be cut along its sum: a dense
/// layer's x·W at training batch sizes (32×128 to 128×128 in the labs), whose partial sums
/// cost little to add.
const SUM_CUT_OUTPUT: usize = 128 * 128;

/// Which side of a product its blocks divide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// Rows of the output: every block reads all of `b`.
    Rows,
    /// Columns of the output: every block reads all of `a`.
    Columns,
    /// The sum over k: every block reads its own rows of `b` (and columns of `a`) and writes
    /// a whole partial output; the partials are then added in block order.
    Sum,
}

/// How a product is cut into blocks that one task each computes whole: `count` blocks of
/// about equal size along its rows, its columns or its sum, `len` long.
///
/// The cut depends on the shape alone, never on the thread count, so a product repeats bit
/// for bit on any number of threads: a block of rows or columns is summed over k whole by
/// one task, and a cut sum adds its blocks' partial sums in block order. Cutting rows makes
/// every block read all of `b`, cutting columns all of `a`: the cut runs across the longer
/// side of the output, so that the operand read again is the smaller one. Where the sum is
/// the longest side and the output small (a dense layer's x·W), the sum is cut instead: each
/// block then reads only its own rows of the kernel W — the rows that the same thread's
/// blocks of ∂W (cut along rows) and its share of the optimizer's update write. Cut along
/// columns, both threads read every row of W in the forward, and the update of each row then
/// waits for the other core to give up its copy: the 784-128-10 MLP's Adam update took
/// 60-64 µs a thread in training (14-17 in a loop of its own, 51-65 in one that read W so
/// between its updates), and 28-29 µs with the sum cut. `count` is a power of two, so that
/// 2, 4 or 8 threads get equal shares. (On a processor with AVX2 alone, the gemm crate's own
/// threading cut the CIFAR MLP's 64×3072·3072×512 so that two threads ran slower than one.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Blocks {
    cut: Cut,
    len: usize,
    count: usize,
}

impl Blocks {
    fn of(m: usize, n: usize, k: usize) -> Blocks {
        let sum = Blocks::cutting(Cut::Sum, m, n, k);
        if k > m.max(n) && m.saturating_mul(n) <= SUM_CUT_OUTPUT && sum.count > 1 {
            sum
        } else {
            Blocks::of_output(m, n, k)
        }
    }

    /// Blocks of the output alone, never of the sum.
    fn of_output(m: usize, n: usize, k: usize) -> Blocks {
        Blocks::cutting(if m > n { Cut::Rows } else { Cut::Columns }, m, n, k)
    }

    fn cutting(cut: Cut, m: usize, n: usize, k: usize) -> Blocks {
        let len = match cut {
            Cut::Rows => m,
            Cut::Columns => n,
            Cut::Sum => k,
        };
        let work = m.saturating_mul(n).saturating_mul(k);
        let most = (work / BLOCK_WORK).min(len / MIN_BLOCK).min(MOST_BLOCKS);
        let count = if most < 2 { 1 } else { 1 << most.ilog2() };
        Blocks { cut, len, count }
    }

    /// Where block `i` starts; block `count` starts at `len`. Columns go in whole tiles of
    /// [`TILE_COLUMNS`] where the tiles share out evenly between the blocks (the last one
    /// may be short); otherwise blocks are equal to within [`BLOCK_ALIGN`], so a cut sum
    /// over a kernel's rows starts where the cut rows of its gradient do.
    fn start(self, i: usize) -> usize {
        let tiles = self.len.div_ceil(TILE_COLUMNS);
        if i == self.count {
            self.len
        } else if self.cut == Cut::Columns && tiles.is_multiple_of(self.count) {
            i * (tiles / self.count) * TILE_COLUMNS
        } else {
            i * self.len / self.count / BLOCK_ALIGN * BLOCK_ALIGN
        }
    }
}

/// `c = a·b` (or `c += a·b` when `accumulate`), with `a` logically m×k and `b` k×n,
/// both row-major as stored and optionally transposed. `c` is m×n row-major.
///
/// Threads share blocks cut by the shape alone: of the output, each summed whole over k by
/// one thread, or of a long sum, whose partial sums are added in block order; so the result
/// is the same for any thread count.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
) {
    let parallel = rayon::current_num_threads() > 1;
    let blocks = Blocks::of(m, n, k);
    gemm_on(m, n, k, a, a_t, b, b_t, c, accumulate, blocks, parallel);
}

/// [`gemm()`] on the calling thread only: for a product that is one of many tasks already
/// spread over the threads (a group of images), where splitting it again would only add
/// hand-overs. It never cuts the sum (a group's ∂W is such a product, and its partial sums
/// would buy no thread anything); otherwise the result is [`gemm()`]'s: the same blocks, one
/// after another.
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
) {
    let blocks = Blocks::of_output(m, n, k);
    gemm_on(m, n, k, a, a_t, b, b_t, c, accumulate, blocks, false);
}

/// `c = a·b` on the calling thread, each operand read at its own strides: `a` (m×k) at
/// `[row stride, column stride]` `a_strides`, `b` (k×n) at `b_strides`, and `c` (m×n) with
/// rows `c_row_stride` apart. For products that read and write blocks of larger buffers in
/// place (the 16 products of a Winograd convolution, one per tile position), transposed or
/// not, instead of copying them out first.
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial_strided<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_strides: [usize; 2],
    b: &[T],
    b_strides: [usize; 2],
    c: &mut [T],
    c_row_stride: usize,
) {
    if !strided_product_needed(m, n, k, a, a_strides, b, b_strides, c, c_row_stride) {
        return;
    }
    // SAFETY: `strided_product_needed` bounds every index the strides describe.
    unsafe {
        crate_product(
            m,
            n,
            k,
            a.as_ptr(),
            a_strides,
            b.as_ptr(),
            b_strides,
            c.as_mut_ptr(),
            c_row_stride,
            false,
        );
    }
}

/// The checks of a strided product `c = a·b` as [`gemm_serial_strided`] takes it, for it and
/// for kernels that read the same operands by pointer: panics unless every element that
/// rows < m, columns < n and k < `k` reach through the strides lies inside its slice, writes
/// `c`'s zeros itself when the sum is empty, and says whether a product is left to compute.
#[allow(clippy::too_many_arguments)]
pub fn strided_product_needed<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_strides: [usize; 2],
    b: &[T],
    b_strides: [usize; 2],
    c: &mut [T],
    c_row_stride: usize,
) -> bool {
    if m == 0 || n == 0 {
        return false;
    }
    // The last element each operand's strides reach.
    let last = |rows: usize, cols: usize, [rs, cs]: [usize; 2]| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c_row_stride >= n && c.len() > last(m, n, [c_row_stride, 1]));
    if k == 0 {
        for row in c.chunks_mut(c_row_stride).take(m) {
            row[..n].fill(T::zero());
        }
        return false;
    }
    assert!(a.len() > last(m, k, a_strides) && b.len() > last(k, n, b_strides));
    true
}

#[allow(clippy::too_many_arguments)]
fn gemm_on<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
    blocks: Blocks,
    parallel: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::zero());
        }
        return;
    }
    // [row stride, column stride] of each logical operand.
    let a_strides = match a_t {
        Transpose::No => [k, 1],
        Transpose::Yes => [1, m],
    };
    let b_strides = match b_t {
        Transpose::No => [n, 1],
        Transpose::Yes => [1, k],
    };
    let operands = Operands {
        a: a.as_ptr(),
        b: b.as_ptr(),
        c: c.as_mut_ptr(),
    };
    if blocks.cut == Cut::Sum {
        // Block 0 into `c` (added to it where `accumulate`), block i into the (i-1)-th m×n
        // part of `partials`, then the parts added to `c` in block order.
        return with_partials((blocks.count - 1) * m * n, |partials| {
            let partials_at = Operands {
                c: partials.as_mut_ptr(),
                ..operands
            };
            run_blocks(blocks.count, parallel, |i| {
                let (start, end) = (blocks.start(i), blocks.start(i + 1));
                let (o, parts) = (&operands, &partials_at);
                // SAFETY: the assert above bounds every index of a and b; block i reads
                // columns start..end of a and the same rows of b, and writes c (block 0
                // only) or its own m×n part of `partials`, which holds count - 1 of them.
                unsafe {
                    let a = o.a.add(start * a_strides[1]);
                    let b = o.b.add(start * b_strides[0]);
                    let (c, accumulate) = match i {
                        0 => (o.c, accumulate),
                        _ => (parts.c.add((i - 1) * m * n), false),
                    };
                    let k = end - start;
                    crate_product(m, n, k, a, a_strides, b, b_strides, c, n, accumulate);
                }
            });
            for partial in partials.chunks_exact(m * n) {
                add_into(&mut c[..m * n], partial);
            }
        });
    }
    let block_product = |i: usize| {
        let (start, end) = (blocks.start(i), blocks.start(i + 1));
        let size = end - start;
        let o = &operands;
        // SAFETY: the assert above bounds every index the strides describe (contiguous m×k,
        // k×n and m×n blocks), and each block of rows or columns of `c` is written by one
        // call only.
        unsafe {
            if blocks.cut == Cut::Rows {
                let a = o.a.add(start * a_strides[0]);
                let c = o.c.add(start * n);
                crate_product(size, n, k, a, a_strides, o.b, b_strides, c, n, accumulate);
            } else {
                let b = o.b.add(start * b_strides[1]);
                let c = o.c.add(start);
                crate_product(m, size, k, o.a, a_strides, b, b_strides, c, n, accumulate);
            }
        }
    };
    run_blocks(blocks.count, parallel, block_product);
}

/// Runs `block(i)` for every block, shared between the threads where `parallel`.
fn run_blocks(count: usize, parallel: bool, block: impl Fn(usize) + Sync + Send) {
    if parallel && count > 1 {
        use rayon::prelude::*;
        (0..count).into_par_iter().for_each(block);
    } else {
        (0..count).for_each(block);
    }
}

wide_simd_fn! {
    /// `sums += parts`, element by element.
    fn add_into<T: Float>(sums: &mut [T], parts: &[T]) {
        for (sum, &part) in sums.iter_mut().zip(parts) {
            *sum += part;
        }
    }
}

thread_local! {
    /// The partial sums of this thread's last product cut along its sum (up to 7 outputs of
    /// 128×128), kept for the next, so that a training step neither allocates nor zeroes
    /// them.
    static PARTIALS: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` on a buffer of `len` elements from this thread's [`PARTIALS`]. A product nested
/// inside `f` (a task this thread takes while it waits) finds the buffer taken and uses one
/// of its own.
fn with_partials<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let kept = PARTIALS.with(|cell| cell.borrow_mut().take());
    let mut buffer: Vec<T> = match kept.map(|kept| kept.downcast::<Vec<T>>()) {
        Some(Ok(buffer)) => *buffer,
        _ => Vec::new(),
    };
    if buffer.len() < len {
        buffer.resize(len, T::zero());
    }
    let result = f(&mut buffer[..len]);
    PARTIALS.with(|cell| *cell.borrow_mut() = Some(Box::new(buffer)));
    result
}

/// A product's operands as pointers, shared by the tasks that each write one block of `c`.
struct Operands<T> {
    a: *const T,
    b: *const T,
    c: *mut T,
}

// SAFETY: the tasks only read `a` and `b`, and write disjoint blocks of `c`.
unsafe impl<T: Send> Sync for Operands<T> {}

/// `c = a·b`, or `c += a·b` when `accumulate`, on the calling thread through the gemm crate:
/// `a` (m×k) and `b` (k×n) at their [row stride, column stride], `c` (m×n) with rows
/// `c_row_stride` apart.
///
/// # Safety
/// Every element those strides reach for rows < m, columns < n and k < `k` must lie inside
/// its allocation, and `c`'s must not overlap `a`'s or `b`'s.
#[allow(clippy::too_many_arguments)]
unsafe fn crate_product<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: *const T,
    a_strides: [usize; 2],
    b: *const T,
    b_strides: [usize; 2],
    c: *mut T,
    c_row_stride: usize,
    accumulate: bool,
) {
    // gemm computes dst = alpha·dst + beta·a·b, reading dst only when asked.
    let alpha = if accumulate { T::one() } else { T::zero() };
    gemm::gemm(
        m,
        n,
        k,
        c,
        1,
        c_row_stride as isize,
        accumulate,
        a,
        a_strides[1] as isize,
        a_strides[0] as isize,
        b,
        b_strides[1] as isize,
        b_strides[0] as isize,
        alpha,
        T::one(),
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104729) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// c = a·b (+ c) by the definition, with the operands' logical indexing.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        a_t: Transpose,
        b: &[f32],
        b_t: Transpose,
        c: &mut [f32],
        accumulate: bool,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut sum = 0.0f64;
                for p in 0..k {
                    let x = if a_t == Transpose::No {
                        a[i * k + p]
                    } else {
                        a[p * m + i]
                    };
                    let y = if b_t == Transpose::No {
                        b[p * n + j]
                    } else {
                        b[j * k + p]
                    };
                    sum += x as f64 * y as f64;
                }
                let base = if accumulate { c[i * n + j] as f64 } else { 0.0 };
                c[i * n + j] = (base + sum) as f32;
            }
        }
    }

    #[test]
    fn matches_the_definition_for_every_transpose_and_accumulate() {
        let (m, n, k) = (37, 19, 23);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        for a_t in [Transpose::No, Transpose::Yes] {
            for b_t in [Transpose::No, Transpose::Yes] {
                for accumulate in [false, true] {
                    let mut c1 = values(m * n, 3);
                    let mut c2 = c1.clone();
                    gemm(m, n, k, &a, a_t, &b, b_t, &mut c1, accumulate);
                    naive(m, n, k, &a, a_t, &b, b_t, &mut c2, accumulate);
                    for (x, y) in c1.iter().zip(&c2) {
                        assert!(
                            (x - y).abs() < 1e-4,
                            "{a_t:?} {b_t:?} {accumulate}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn strided_rows_read_and_write_only_their_blocks() {
        // a's rows 11 apart (k = 5), c's rows 9 apart (n = 4): the gaps must stay untouched.
        let (m, n, k) = (13, 4, 5);
        let a = values((m - 1) * 11 + k, 6);
        let b = values(k * n, 7);
        let mut c = vec![7.0f32; (m - 1) * 9 + n];
        gemm_serial_strided(m, n, k, &a, [11, 1], &b, [n, 1], &mut c, 9);
        let dense_a: Vec<f32> = (0..m).flat_map(|i| a[i * 11..][..k].to_vec()).collect();
        let mut expected = vec![0.0f32; m * n];
        naive(
            m,
            n,
            k,
            &dense_a,
            Transpose::No,
            &b,
            Transpose::No,
            &mut expected,
            false,
        );
        for i in 0..m {
            for j in 0..9.min(c.len() - i * 9) {
                let got = c[i * 9 + j];
                if j < n {
                    assert!((got - expected[i * n + j]).abs() < 1e-4, "{i},{j}");
                } else {
                    assert_eq!(got, 7.0, "gap at {i},{j} was written");
                }
            }
        }
        // aᵀ read in place: the same product from the columns of a k×m matrix whose rows lie
        // 15 apart.
        let a_t: Vec<f32> = (0..k)
            .flat_map(|p| {
                let dense_a = &dense_a;
                (0..15).map(move |i| if i < m { dense_a[i * k + p] } else { 9.0 })
            })
            .collect();
        let mut c_t = vec![0.0f32; m * n];
        gemm_serial_strided(m, n, k, &a_t, [1, 15], &b, [n, 1], &mut c_t, n);
        for (x, y) in c_t.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    #[test]
    fn blocks_cover_the_cut_side_in_aligned_power_of_two_parts() {
        for (m, n, k, cut, len) in [
            (64, 512, 3072, Cut::Columns, 512),
            (3072, 512, 64, Cut::Rows, 3072),
            (32, 128, 784, Cut::Sum, 784),
            (1000, 7, 1 << 20, Cut::Sum, 1 << 20),
            (1000, 128, 784, Cut::Rows, 1000),
        ] {
            let blocks = Blocks::of(m, n, k);
            assert_eq!((blocks.cut, blocks.len), (cut, len), "{m}×{n}·{k}");
            assert!(blocks.count.is_power_of_two() && blocks.count <= MOST_BLOCKS);
            assert_eq!(blocks.start(0), 0);
            assert_eq!(blocks.start(blocks.count), blocks.len);
            for i in 0..blocks.count {
                let (start, end) = (blocks.start(i), blocks.start(i + 1));
                assert!(
                    start.is_multiple_of(BLOCK_ALIGN) && end - start >= MIN_BLOCK - BLOCK_ALIGN
                );
            }
        }
        assert_eq!(Blocks::of(64, 512, 3072).count, MOST_BLOCKS);
        let starts = |b: Blocks| -> Vec<usize> { (0..=b.count).map(|i| b.start(i)).collect() };
        assert_eq!(
            starts(Blocks::of(128, 500, 784)),
            [0, 128, 256, 384, 500],
            "8 tiles of 64 columns, the last one 52 wide, 2 to a block"
        );
        assert_eq!(
            starts(Blocks::of(128, 300, 500)),
            [0, 64, 144, 224, 300],
            "5 tiles do not share out between 4 blocks: equal blocks"
        );
        assert_eq!(
            starts(Blocks::of(500, 128, 784)),
            [0, 112, 240, 368, 500],
            "rows are cut into equal blocks"
        );
        assert_eq!(
            starts(Blocks::of(32, 128, 784)),
            [0, 384, 784],
            "3.2M multiply-adds: the sum in two, where the weight gradient's rows are cut"
        );
        assert_eq!(
            starts(Blocks::of(784, 128, 32)),
            [0, 384, 784],
            "the weight gradient's rows"
        );
        assert_eq!(
            Blocks::of(1, 128, 784),
            Blocks {
                cut: Cut::Columns,
                len: 128,
                count: 1
            },
            "a product too small to cut is one block of its output"
        );
        assert_eq!(
            Blocks::of(128, 129, 784).cut,
            Cut::Columns,
            "an output over 128×128 is cut, not the sum"
        );
        assert_eq!(
            Blocks::of_output(32, 128, 784).cut,
            Cut::Columns,
            "the serial products never cut the sum"
        );
        assert_eq!(
            Blocks::of(32, 120, 400).count,
            1,
            "1.5M multiply-adds stay whole"
        );
        assert_eq!(
            Blocks::of(1000, 7, 1 << 20).count,
            8,
            "at most len / MIN_BLOCK"
        );
    }

    /// `gemm` on 2 threads against the definition, with each pair of transposes, accumulated
    /// or not.
    fn assert_product_matches_definition(
        (m, n, k): (usize, usize, usize),
        transposes: [(Transpose, Transpose); 2],
    ) {
        let (a, b) = (values(m * k, 8), values(k * n, 9));
        for (a_t, b_t) in transposes {
            for accumulate in [false, true] {
                let mut c1 = values(m * n, 10);
                let mut c2 = c1.clone();
                crate::on_threads(2, || gemm(m, n, k, &a, a_t, &b, b_t, &mut c1, accumulate));
                naive(m, n, k, &a, a_t, &b, b_t, &mut c2, accumulate);
                for (x, y) in c1.iter().zip(&c2) {
                    assert!((x - y).abs() < 1e-3, "{m}×{n}·{k}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn blocked_products_match_the_definition_along_rows_and_columns() {
        // 4 blocks of columns, then 4 of rows.
        for (m, n, k) in [(40, 700, 150), (700, 40, 150)] {
            assert_eq!(Blocks::of(m, n, k).count, 4);
            let transposes = [
                (Transpose::No, Transpose::Yes),
                (Transpose::Yes, Transpose::No),
            ];
            assert_product_matches_definition((m, n, k), transposes);
        }
    }

    #[test]
    fn products_cut_along_the_sum_match_the_definition() {
        // The 784-128-10 MLP's x·W1 (2 blocks of the sum) and an 8-block sum with a short last
        // block.
        for (m, n, k, count) in [(32, 128, 784, 2), (40, 30, 7001, 8)] {
            let blocks = Blocks::of(m, n, k);
            assert_eq!((blocks.cut, blocks.len, blocks.count), (Cut::Sum, k, count));
            let transposes = [
                (Transpose::No, Transpose::No),
                (Transpose::Yes, Transpose::Yes),
            ];
            assert_product_matches_definition((m, n, k), transposes);
        }
    }

    #[test]
    fn product_does_not_depend_on_the_thread_count() {
        // Cut along rows (3000×16, 7.2M multiply-adds), then along a long sum (150×16 over
        // 3000, in 4 blocks whose partial sums are added in order).
        let (m, n, k) = (3000, 16, 150);
        assert_eq!(Blocks::of(k, n, m).cut, Cut::Sum);
        assert_eq!(Blocks::of(k, n, m).count, 4);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let run = |threads: usize| {
            crate::on_threads(threads, || {
                let mut c = vec![0.0f32; m * n];
                gemm(m, n, k, &a, Transpose::No, &b, Transpose::No, &mut c, false);
                let mut d = vec![0.0f32; k * n];
                gemm(
                    k,
                    n,
                    m,
                    &a,
                    Transpose::Yes,
                    &c,
                    Transpose::No,
                    &mut d,
                    false,
                );
                (c, d)
            })
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(3));
        // Cut along columns; the serial product gives the same bits.
        let (m, n, k) = (40, 700, 300);
        let (a, b) = (values(m * k, 11), values(k * n, 12));
        let mut serial = vec![0.0f32; m * n];
        gemm_serial(
            m,
            n,
            k,
            &a,
            Transpose::No,
            &b,
            Transpose::No,
            &mut serial,
            false,
        );
        for threads in [2, 3] {
            let mut c = vec![0.0f32; m * n];
            crate::on_threads(threads, || {
                gemm(m, n, k, &a, Transpose::No, &b, Transpose::No, &mut c, false)
            });
            assert_eq!(c, serial, "{threads} threads");
        }
    }
}
