//! `NumpyRandomState` against numpy's own streams (`tests/fixtures/make_numpy_streams.py`)
//! and the from-scratch golden file (`tests/fixtures/make_from_scratch_seed0.py`).

use nabla::random::NumpyRandomState;
use serde_json::Value;

fn streams() -> Value {
    serde_json::from_str(include_str!("fixtures/numpy_streams.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn streams_match_numpy_bit_for_bit() {
    let all = streams();
    for seed in [0u32, 42] {
        let s = &all[format!("seed{seed}")];
        let fresh = || NumpyRandomState::new(seed);

        let mut rng = fresh();
        let raw: Vec<i64> = (0..16).map(|_| rng.next_u32() as i64).collect();
        assert_eq!(raw, ints(&s["raw_uint32"]), "seed {seed} raw");

        let mut rng = fresh();
        let got: Vec<f64> = (0..16).map(|_| rng.random_sample()).collect();
        assert_eq!(
            got,
            floats(&s["random_sample"]),
            "seed {seed} random_sample"
        );

        let mut rng = fresh();
        let got: Vec<f64> = (0..13).map(|_| rng.randn()).collect();
        assert_eq!(got, floats(&s["randn"]), "seed {seed} randn");

        for (key, low, high, n) in [
            ("randint_0_2", 0, 2, 64),
            ("randint_0_10", 0, 10, 64),
            ("randint_minus5_1000", -5, 1000, 32),
        ] {
            let mut rng = fresh();
            let got: Vec<i64> = (0..n).map(|_| rng.randint(low, high)).collect();
            assert_eq!(got, ints(&s[key]), "seed {seed} {key}");
        }

        for (key, n) in [("permutation_10", 10), ("permutation_1000", 1000)] {
            let got: Vec<i64> = fresh().permutation(n).iter().map(|&i| i as i64).collect();
            assert_eq!(got, ints(&s[key]), "seed {seed} {key}");
        }

        let mut rng = fresh();
        let mixed = [
            rng.randn(),
            rng.random_sample(),
            rng.randint(0, 7) as f64,
            rng.randn(),
            rng.randn(),
        ];
        assert_eq!(mixed.to_vec(), floats(&s["mixed"]), "seed {seed} mixed");
    }
}

#[test]
fn golden_file_streams() {
    let golden: Value =
        serde_json::from_str(include_str!("fixtures/from_scratch_seed0.json")).unwrap();
    let mut rng = NumpyRandomState::new(0);
    let got: Vec<f64> = (0..8).map(|_| rng.random_sample()).collect();
    assert_eq!(got, floats(&golden["stream_seed0_random_sample_first8"]));
    let mut rng = NumpyRandomState::new(0);
    let got: Vec<f64> = (0..8).map(|_| rng.randn()).collect();
    assert_eq!(got, floats(&golden["stream_seed0_randn_first8"]));
    let mut rng = NumpyRandomState::new(0);
    let got: Vec<i64> = (0..32).map(|_| rng.randint(0, 2)).collect();
    assert_eq!(got, ints(&golden["stream_seed0_randint_0_2_first32"]));
    let mut rng = NumpyRandomState::new(0);
    let got: Vec<i64> = (0..32).map(|_| rng.randint(0, 10)).collect();
    assert_eq!(got, ints(&golden["stream_seed0_randint_0_10_first32"]));
    let got: Vec<i64> = NumpyRandomState::new(0)
        .permutation(10)
        .iter()
        .map(|&i| i as i64)
        .collect();
    assert_eq!(got, ints(&golden["stream_seed0_permutation_10"]));
    let mut rng = NumpyRandomState::new(42);
    let got: Vec<f64> = (0..4).map(|_| rng.random_sample()).collect();
    assert_eq!(got, floats(&golden["stream_seed42_random_sample_first4"]));
    let mut rng = NumpyRandomState::new(0);
    let got: Vec<i64> = (0..8).map(|_| rng.next_u32() as i64).collect();
    assert_eq!(got, ints(&golden["stream_seed0_raw_mt19937_uint32_first8"]));
}
