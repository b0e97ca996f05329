use nabla::nn::layers::*;
use nabla::nn::{LayerConfig, Loss, OptimizerConfig};
use nabla::ops::Activation;
use nabla::train::gradcheck::check_model_gradients;
use nabla::train::Sequential;
use nabla::Tensor;
fn main() {
    let cases: Vec<(&str, Vec<LayerConfig>, Vec<usize>)> = vec![
        ("conv", vec![Conv2D::new(4, 3).activation(Activation::Relu).into(), Flatten::new().into(), Dense::new(3).activation(Activation::Softmax).into()], vec![8,8,1]),
        ("conv-linear", vec![Conv2D::new(4, 3).into(), Flatten::new().into(), Dense::new(3).activation(Activation::Softmax).into()], vec![8,8,1]),
        ("conv-pool", vec![Conv2D::new(4, 3).activation(Activation::Relu).into(), MaxPool2D::new(2).into(), Flatten::new().into(), Dense::new(3).activation(Activation::Softmax).into()], vec![8,8,1]),
        ("conv-conv", vec![Conv2D::new(4, 3).activation(Activation::Relu).into(), Conv2D::new(5, 3).activation(Activation::Relu).into(), Flatten::new().into(), Dense::new(3).activation(Activation::Softmax).into()], vec![9,9,2]),
        ("conv-conv-linear", vec![Conv2D::new(4, 3).into(), Conv2D::new(5, 3).into(), Flatten::new().into(), Dense::new(3).activation(Activation::Softmax).into()], vec![9,9,2]),
    ];
    for (name, layers, shape) in cases {
        let mut m = Sequential::<f64>::from_configs(&shape, &layers, 1).unwrap();
        m.compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy).unwrap();
        let b = 3;
        let n: usize = shape.iter().product::<usize>() * b;
        let mut rng = nabla::random::Rng::new(5);
        let x = Tensor::from_vec((0..n).map(|_| rng.random_sample()).collect(), nabla::Shape::batched(b, &shape)).unwrap();
        let mut y = Tensor::zeros([b, 3]);
        for r in 0..b { y.data_mut()[r*3 + r%3] = 1.0; }
        let checks = check_model_gradients(&mut m, &x, &y, None).unwrap();
        for c in checks { println!("{name:18} {:20} {:e}", c.param, c.max_error); }
    }
}
