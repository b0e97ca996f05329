//! ONNX export of a `Sequential` for inference: opset 13, a dynamic batch dimension, float32.
//!
//! nabla's images are NHWC (Keras's channels_last) while ONNX's Conv and pooling ops are
//! NCHW, so the graph keeps nabla's NHWC input and output and says each layout change out
//! loud: one Transpose into NCHW before the first image op, and one back before Flatten (so
//! Flatten's order matches nabla's and Keras's) or at the output. Layers map one to one:
//! Dense → Gemm, Conv2D → Conv (kernel (kh, kw, in, out) → (out, in, kh, kw)),
//! MaxPooling2D → MaxPool, AveragePooling2D → AveragePool (padding excluded from the mean,
//! as in Keras), GlobalAveragePooling2D → GlobalAveragePool + Flatten,
//! BatchNormalization → BatchNormalization with the moving statistics (inference form),
//! Flatten → Flatten, activations → Relu / Sigmoid / Tanh / Softmax, Dropout → nothing.
//! "same" padding becomes explicit pads computed as TensorFlow does (the extra row or column
//! at the end), since the spatial sizes are fixed.
//!
//! The messages are prost structs ([`proto`]); `tests/onnx_export.rs` runs onnxruntime and
//! `onnx.checker.check_model` on what this writes.

pub mod proto;

use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::nn::LayerConfig;
use crate::ops::{Activation, Padding};
use crate::tensor::Float;
use crate::train::Sequential;
use prost::Message;
use proto::{
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, AttributeType, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use std::path::Path;

/// The operator set the graph declares.
pub const OPSET: i64 = 13;
/// The ONNX IR version that goes with opset 13.
const IR_VERSION: i64 = 7;
/// Graph input and output names.
pub const INPUT: &str = "input";
pub const OUTPUT: &str = "output";

/// Writes `model` as an ONNX file, atomically.
pub fn export_onnx<T: Float>(model: &Sequential<T>, path: &Path) -> Result<()> {
    write_atomic(path, &encode_onnx(model)?)
}

/// The ONNX model's bytes.
pub fn encode_onnx<T: Float>(model: &Sequential<T>) -> Result<Vec<u8>> {
    Ok(to_proto(model)?.encode_to_vec())
}

/// Where the running tensor's channels are.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// Flat features, or NHWC images as nabla holds them.
    Nabla,
    /// NCHW images, as ONNX's image ops want them.
    Nchw,
}

struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    current: String,
    layout: Layout,
    count: usize,
}

impl Graph {
    /// Appends `op` on the current tensor plus `extra` inputs; its output becomes current.
    fn node(&mut self, op: &str, name: &str, extra: Vec<String>, attrs: Vec<AttributeProto>) {
        self.count += 1;
        let output = format!("{name}/{}_{}", op.to_ascii_lowercase(), self.count);
        let mut input = vec![self.current.clone()];
        input.extend(extra);
        self.nodes.push(NodeProto {
            input,
            output: vec![output.clone()],
            name: format!("{name}/{op}_{}", self.count),
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        });
        self.current = output;
    }

    fn weight(&mut self, name: String, dims: &[usize], data: Vec<f32>) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: proto::FLOAT,
            raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            name: name.clone(),
            ..Default::default()
        });
        name
    }

    fn enter_nchw(&mut self, name: &str) {
        if self.layout == Layout::Nabla {
            self.node("Transpose", name, vec![], vec![ints("perm", &[0, 3, 1, 2])]);
            self.layout = Layout::Nchw;
        }
    }

    fn leave_nchw(&mut self, name: &str) {
        if self.layout == Layout::Nchw {
            self.node("Transpose", name, vec![], vec![ints("perm", &[0, 2, 3, 1])]);
            self.layout = Layout::Nabla;
        }
    }

    fn activation(&mut self, name: &str, activation: Activation, rank: usize) {
        let op = match activation {
            Activation::Linear => return,
            Activation::Relu => "Relu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softmax => {
                // Over the channels: the last axis in nabla's layout, axis 1 in NCHW.
                let axis = if self.layout == Layout::Nchw && rank == 4 {
                    1
                } else {
                    -1
                };
                self.node("Softmax", name, vec![], vec![int("axis", axis)]);
                return;
            }
        };
        self.node(op, name, vec![], vec![]);
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    }
}

/// ONNX `pads` (top, left, bottom, right) for a window over `[h, w]`, as TensorFlow pads
/// "same": the total the output size needs, the odd one at the end.
fn pads(input: [usize; 2], window: [usize; 2], strides: [usize; 2], padding: Padding) -> Vec<i64> {
    if padding == Padding::Valid {
        return vec![0, 0, 0, 0];
    }
    let mut begin = [0i64; 2];
    let mut end = [0i64; 2];
    for i in 0..2 {
        let out = input[i].div_ceil(strides[i]);
        let total = ((out - 1) * strides[i] + window[i]).saturating_sub(input[i]) as i64;
        begin[i] = total / 2;
        end[i] = total - total / 2;
    }
    vec![begin[0], begin[1], end[0], end[1]]
}

fn tensor_info(name: &str, sample: &[usize]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        value: Some(dimension::Value::DimParam("batch".into())),
    }];
    dim.extend(sample.iter().map(|&d| Dimension {
        value: Some(dimension::Value::DimValue(d as i64)),
    }));
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: proto::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        ..Default::default()
    }
}

fn param_f32<T: Float>(model: &Sequential<T>, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let id = model
        .params()
        .find(name)
        .ok_or_else(|| Error::invalid(format!("ONNX export: the model has no weight '{name}'")))?;
    let t = model.params().value(id);
    Ok((
        t.data().iter().map(|x| x.as_f64() as f32).collect(),
        t.dims().to_vec(),
    ))
}

/// The ONNX model for `model`.
pub fn to_proto<T: Float>(model: &Sequential<T>) -> Result<ModelProto> {
    let mut g = Graph {
        nodes: Vec::new(),
        initializers: Vec::new(),
        current: INPUT.into(),
        layout: Layout::Nabla,
        count: 0,
    };
    let mut shape = model.input_shape().to_vec();
    for (config, layer) in model.configs().iter().zip(model.layers()) {
        let name = layer.name();
        let rank = shape.len() + 1;
        match config {
            LayerConfig::Dense(d) => {
                if rank != 2 {
                    return Err(Error::invalid(format!(
                        "ONNX export: Dense layer '{name}' needs a flat input, got {shape:?}"
                    )));
                }
                let (w, dims) = param_f32(model, &format!("{name}/kernel"))?;
                let mut extra = vec![g.weight(format!("{name}/kernel"), &dims, w)];
                if d.use_bias {
                    let (b, dims) = param_f32(model, &format!("{name}/bias"))?;
                    extra.push(g.weight(format!("{name}/bias"), &dims, b));
                }
                g.node("Gemm", name, extra, vec![]);
                g.activation(name, d.activation, rank);
            }
            LayerConfig::Conv2D(c) => {
                g.enter_nchw(name);
                let (w, dims) = param_f32(model, &format!("{name}/kernel"))?;
                let [kh, kw, cin, cout] = [dims[0], dims[1], dims[2], dims[3]];
                // (kh, kw, in, out) → (out, in, kh, kw).
                let mut oihw = vec![0f32; w.len()];
                for y in 0..kh {
                    for x in 0..kw {
                        for i in 0..cin {
                            for o in 0..cout {
                                oihw[((o * cin + i) * kh + y) * kw + x] =
                                    w[((y * kw + x) * cin + i) * cout + o];
                            }
                        }
                    }
                }
                let mut extra =
                    vec![g.weight(format!("{name}/kernel"), &[cout, cin, kh, kw], oihw)];
                if c.use_bias {
                    let (b, dims) = param_f32(model, &format!("{name}/bias"))?;
                    extra.push(g.weight(format!("{name}/bias"), &dims, b));
                }
                let p = pads(
                    [shape[0], shape[1]],
                    c.kernel_size.0,
                    c.strides.0,
                    c.padding,
                );
                let attrs = vec![
                    ints("kernel_shape", &[kh as i64, kw as i64]),
                    ints("strides", &[c.strides.0[0] as i64, c.strides.0[1] as i64]),
                    ints("pads", &p),
                ];
                g.node("Conv", name, extra, attrs);
                g.activation(name, c.activation, rank);
            }
            LayerConfig::MaxPooling2D(_) | LayerConfig::AveragePooling2D(_) => {
                let (pool, strides, padding, op) = match config {
                    LayerConfig::MaxPooling2D(p) => (
                        p.pool_size,
                        p.strides.unwrap_or(p.pool_size),
                        p.padding,
                        "MaxPool",
                    ),
                    LayerConfig::AveragePooling2D(p) => (
                        p.pool_size,
                        p.strides.unwrap_or(p.pool_size),
                        p.padding,
                        "AveragePool",
                    ),
                    _ => unreachable!("matched above"),
                };
                g.enter_nchw(name);
                let p = pads([shape[0], shape[1]], pool.0, strides.0, padding);
                let attrs = vec![
                    ints("kernel_shape", &[pool.0[0] as i64, pool.0[1] as i64]),
                    ints("strides", &[strides.0[0] as i64, strides.0[1] as i64]),
                    ints("pads", &p),
                ];
                g.node(op, name, vec![], attrs);
            }
            LayerConfig::GlobalAveragePooling2D(_) => {
                g.enter_nchw(name);
                g.node("GlobalAveragePool", name, vec![], vec![]);
                g.node("Flatten", name, vec![], vec![int("axis", 1)]);
                g.layout = Layout::Nabla;
            }
            LayerConfig::BatchNormalization(b) => {
                let channels = *shape.last().expect("checked when built");
                let get = |what: &str, fill: f32| -> Result<Vec<f32>> {
                    match model.params().find(&format!("{name}/{what}")) {
                        Some(_) => Ok(param_f32(model, &format!("{name}/{what}"))?.0),
                        None => Ok(vec![fill; channels]),
                    }
                };
                if rank == 4 {
                    g.enter_nchw(name);
                } else if rank != 2 {
                    return Err(Error::invalid(format!(
                        "ONNX export: BatchNormalization '{name}' on a rank-{rank} input is \
                         not supported (flat features or images)"
                    )));
                }
                let mut extra = Vec::new();
                for (what, fill) in [
                    ("gamma", 1.0),
                    ("beta", 0.0),
                    ("moving_mean", 0.0),
                    ("moving_variance", 1.0),
                ] {
                    let data = get(what, fill)?;
                    extra.push(g.weight(format!("{name}/{what}"), &[channels], data));
                }
                g.node(
                    "BatchNormalization",
                    name,
                    extra,
                    vec![float("epsilon", b.epsilon as f32)],
                );
            }
            LayerConfig::Dropout(_) => {}
            LayerConfig::Flatten(_) => {
                g.leave_nchw(name);
                g.node("Flatten", name, vec![], vec![int("axis", 1)]);
            }
            LayerConfig::Activation(a) => g.activation(name, a.activation, rank),
        }
        shape = layer.output_shape().to_vec();
    }
    g.leave_nchw("output");
    // The last node writes the graph output (an Identity when no node ran).
    if g.nodes.is_empty() {
        g.node("Identity", "output", vec![], vec![]);
    }
    let last = g.nodes.last_mut().expect("at least one node");
    last.output = vec![OUTPUT.into()];
    let graph = GraphProto {
        node: g.nodes,
        name: model.name().into(),
        initializer: g.initializers,
        input: vec![tensor_info(INPUT, model.input_shape())],
        output: vec![tensor_info(OUTPUT, model.output_shape())],
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "nabla".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        ..Default::default()
    })
}
