//! Conv2D and pooling forward outputs against PyTorch's, on fixed small inputs.
//! The fixture and the script that made it are in tests/fixtures/ (cnn_reference.*).

use nabla::autograd::{ParamStore, Tape};
use nabla::ops::{self, Activation, Padding};
use nabla::tensor::Tensor;
use serde_json::Value;

fn tensor(case: &Value, values: &str, dims: &str) -> Tensor<f64> {
    let dims: Vec<usize> = serde_json::from_value(case[dims].clone()).unwrap();
    let data: Vec<f64> = serde_json::from_value(case[values].clone()).unwrap();
    Tensor::from_vec(data, nabla::Shape::new(&dims)).unwrap()
}

fn pair(case: &Value, key: &str) -> [usize; 2] {
    serde_json::from_value(case[key].clone()).unwrap()
}

#[test]
fn conv2d_and_pooling_match_pytorch() {
    let text = include_str!("fixtures/cnn_reference.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (i, case) in cases.iter().enumerate() {
        let op = case["op"].as_str().unwrap();
        let padding = case["padding"]
            .as_str()
            .map(|p| Padding::parse(p).unwrap())
            .unwrap_or_default();
        let mut params = ParamStore::default();
        let mut tape = Tape::inference(&mut params);
        let x = tape.input(tensor(case, "x", "x_dims"));
        let y = match op {
            "conv2d" => {
                let k = tape.input(tensor(case, "k", "k_dims"));
                let b: Vec<f64> = serde_json::from_value(case["bias"].clone()).unwrap();
                let n = b.len();
                let b = tape.input(Tensor::from_vec(b, [n]).unwrap());
                let y = ops::conv2d(&mut tape, x, k, pair(case, "strides"), padding).unwrap();
                ops::bias_activation(&mut tape, y, Some(b), Activation::Linear).unwrap()
            }
            "max_pool2d" => ops::max_pool2d(
                &mut tape,
                x,
                pair(case, "pool"),
                pair(case, "strides"),
                padding,
            )
            .unwrap(),
            "avg_pool2d" => ops::avg_pool2d(
                &mut tape,
                x,
                pair(case, "pool"),
                pair(case, "strides"),
                padding,
            )
            .unwrap(),
            "global_avg_pool2d" => ops::global_avg_pool2d(&mut tape, x).unwrap(),
            other => panic!("unknown op {other}"),
        };
        let expected = tensor(case, "y", "y_dims");
        let got = tape.value(y);
        assert_eq!(got.dims(), expected.dims(), "case {i} ({op}): shape");
        for (j, (a, b)) in got.data().iter().zip(expected.data()).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "case {i} ({op}, {padding:?}): element {j} is {a}, PyTorch says {b}"
            );
        }
    }
}
