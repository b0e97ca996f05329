//! nabla → `.onnx` → onnxruntime: the same predictions within 1e-5 for every layer type,
//! `onnx.checker.check_model` passes, opset 13 and a dynamic batch dimension. Needs Python
//! with onnx and onnxruntime (NABLA_PYTHON); skipped with a message otherwise. The graph's
//! structure is also checked here in Rust, by decoding the file with prost.

mod io_support;

use io_support::*;
use nabla::io::onnx::proto::{tensor_shape_proto::dimension, type_proto, ModelProto};
use nabla::nn::layers::{
    AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
    MaxPool2D,
};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::{Activation, Padding};
use nabla::train::Sequential;
use nabla::Tensor;
use prost::Message;
use serde_json::json;

/// Models covering every layer and both paddings, with weights and batch-norm statistics
/// away from their defaults (Keras fixtures), plus inputs.
fn models() -> Vec<(String, Sequential<f32>, Tensor<f32>)> {
    let mut out = Vec::new();
    for name in ["mlp", "cnn", "lenet5"] {
        let dir = fixtures().join("keras");
        let model = Sequential::<f32>::load(dir.join(format!("{name}.keras"))).unwrap();
        let record = read_json(&dir.join(format!("{name}.json")));
        out.push((
            name.to_string(),
            model,
            batch(&floats(&record["x"]), &dims(&record["input_shape"])),
        ));
    }
    let mut model = Sequential::<f32>::with_seed(&[7, 8, 3], 4);
    model
        .add(
            Conv2D::new(4, 3)
                .strides(2)
                .padding(Padding::Same)
                .activation(Activation::Tanh),
        )
        .unwrap();
    model
        .add(MaxPool2D::new(3).strides(1).padding(Padding::Same))
        .unwrap();
    model
        .add(AveragePooling2D::new(2).padding(Padding::Same))
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model
        .add(Conv2D::new(3, 1).activation(Activation::Softmax))
        .unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model.add(Flatten::new()).unwrap();
    model
        .add(Dense::new(5).activation(Activation::Sigmoid))
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Dense::new(2).use_bias(false)).unwrap();
    model
        .compile(OptimizerConfig::adam(1e-3), Loss::MeanSquaredError)
        .unwrap();
    let x = Tensor::<f32>::from_f64(
        &(0..3 * 7 * 8 * 3)
            .map(|i| ((i * 53 % 97) as f64) / 40.0 - 1.2)
            .collect::<Vec<_>>(),
        [3, 7, 8, 3],
    )
    .unwrap();
    out.push(("same_padding".into(), model, x.clone()));
    let mut model = Sequential::<f32>::with_seed(&[7, 8, 3], 6);
    model
        .add(Conv2D::new(2, 2).activation(Activation::Relu))
        .unwrap();
    model.add(GlobalAveragePooling2D::new()).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    out.push(("gap".into(), model, x.clone()));
    // Ending on an image: the output goes back to NHWC.
    let mut model = Sequential::<f32>::with_seed(&[7, 8, 3], 7);
    model.add(Conv2D::new(2, 3).padding(Padding::Same)).unwrap();
    out.push(("conv_only".into(), model, x));
    out
}

#[test]
fn the_graph_declares_opset_13_a_dynamic_batch_and_nchw_transposes() {
    for (name, model, _) in models() {
        let bytes = nabla::io::onnx::encode_onnx(&model).unwrap();
        let proto = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(proto.opset_import[0].version, 13, "{name}");
        let graph = proto.graph.unwrap();
        let input = graph.input[0].r#type.clone().unwrap();
        let Some(type_proto::Value::TensorType(t)) = input.value else {
            panic!()
        };
        let first = t.shape.unwrap().dim[0].value.clone();
        assert_eq!(
            first,
            Some(dimension::Value::DimParam("batch".into())),
            "{name}"
        );
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert!(!ops.contains(&"Dropout"), "{name}: {ops:?}");
        let images =
            model.input_shape().len() == 3 && model.configs().iter().any(|c| c.kind() == "Conv2D");
        if images {
            assert_eq!(ops[0], "Transpose", "{name}: {ops:?}");
        }
        assert_eq!(
            graph.node.last().unwrap().output,
            vec!["output".to_string()]
        );
    }
}

#[test]
fn onnxruntime_predicts_what_nabla_predicts() {
    let Some(python) = python_with(&["onnx", "onnxruntime", "numpy"]) else {
        return;
    };
    let script = fixtures().join("onnx/onnx_predict.py");
    let dir = tempfile::tempdir().unwrap();
    for (name, mut model, x) in models() {
        let path = dir.path().join(format!("{name}.onnx"));
        model.export_onnx(&path).unwrap();
        let inputs = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &inputs,
            json!({"x": as_f64(&x), "input_shape": &x.dims()[1..]}).to_string(),
        )
        .unwrap();
        let out = run_python(&python, &script, &[&path, &inputs]);
        let expected = as_f64(&model.predict_tensor(&x).unwrap());
        let diff = max_abs_diff(&floats(&out["predictions"]), &expected);
        assert!(
            diff < 1e-5,
            "{name}: onnxruntime differs from nabla by {diff}"
        );
        let per_row = expected.len() / x.dims()[0];
        let diff = max_abs_diff(&floats(&out["first_row"]), &expected[..per_row]);
        assert!(diff < 1e-5, "{name}: batch of one differs by {diff}");
        assert_eq!(out["opset"], json!([13]), "{name}");
        assert_eq!(out["batch_dim"], "batch", "{name}");
    }
}

#[test]
fn convert_writes_onnx_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let model = Sequential::<f32>::load(fixtures().join("keras/mlp.h5")).unwrap();
    let path = dir.path().join("m.onnx");
    model.save(&path).unwrap();
    let proto = ModelProto::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    assert_eq!(proto.producer_name, "nabla");
    // nabla exports ONNX but does not read it: loading one is a clear error.
    assert!(Sequential::<f32>::load(&path).is_err());
}
