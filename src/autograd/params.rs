//! Named parameters and the gradients keyed by them.

use crate::tensor::{Float, Tensor};

/// Index of a parameter in its `ParamStore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub usize);

/// A named tensor owned by a model: trainable (kernels, biases) or state (moving averages).
#[derive(Clone, Debug)]
pub struct Param<T> {
    pub name: String,
    pub value: Tensor<T>,
    pub trainable: bool,
}

/// All parameters of a model, in creation order (the order Keras lists weights in).
#[derive(Clone, Debug, Default)]
pub struct ParamStore<T> {
    params: Vec<Param<T>>,
}

impl<T: Float> ParamStore<T> {
    pub fn add(&mut self, name: impl Into<String>, value: Tensor<T>, trainable: bool) -> ParamId {
        self.params.push(Param {
            name: name.into(),
            value,
            trainable,
        });
        ParamId(self.params.len() - 1)
    }

    pub fn get(&self, id: ParamId) -> &Param<T> {
        &self.params[id.0]
    }

    pub fn get_mut(&mut self, id: ParamId) -> &mut Param<T> {
        &mut self.params[id.0]
    }

    pub fn value(&self, id: ParamId) -> &Tensor<T> {
        &self.params[id.0].value
    }

    pub fn value_mut(&mut self, id: ParamId) -> &mut Tensor<T> {
        &mut self.params[id.0].value
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Param<T>)> {
        self.params.iter().enumerate().map(|(i, p)| (ParamId(i), p))
    }

    pub fn find(&self, name: &str) -> Option<ParamId> {
        self.params.iter().position(|p| p.name == name).map(ParamId)
    }

    /// Number of scalars, split as Keras does: (trainable, non-trainable).
    pub fn count(&self) -> (usize, usize) {
        let mut counts = (0, 0);
        for p in &self.params {
            if p.trainable {
                counts.0 += p.value.numel();
            } else {
                counts.1 += p.value.numel();
            }
        }
        counts
    }

    /// The same parameters in another element type (f32 <-> f64).
    pub fn cast<U: Float>(&self) -> ParamStore<U> {
        ParamStore {
            params: self
                .params
                .iter()
                .map(|p| Param {
                    name: p.name.clone(),
                    value: p.value.cast(),
                    trainable: p.trainable,
                })
                .collect(),
        }
    }
}

/// Gradients of a loss with respect to each trainable parameter, keyed by `ParamId`.
#[derive(Clone, Debug, Default)]
pub struct Gradients<T> {
    slots: Vec<Option<Tensor<T>>>,
    names: Vec<String>,
}

impl<T: Float> Gradients<T> {
    /// Empty slots for every parameter of `params`.
    pub fn for_params(params: &ParamStore<T>) -> Self {
        Gradients {
            slots: vec![None; params.len()],
            names: params.iter().map(|(_, p)| p.name.clone()).collect(),
        }
    }

    pub fn get(&self, id: ParamId) -> Option<&Tensor<T>> {
        self.slots.get(id.0).and_then(Option::as_ref)
    }

    /// The gradient of a parameter by its name, e.g. `"dense_1/kernel"`.
    pub fn by_name(&self, name: &str) -> Option<&Tensor<T>> {
        let index = self.names.iter().position(|n| n == name)?;
        self.slots[index].as_ref()
    }

    /// `(name, gradient)` for every parameter that received one, in parameter order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &str, &Tensor<T>)> {
        self.slots
            .iter()
            .zip(&self.names)
            .enumerate()
            .filter_map(|(i, (g, n))| g.as_ref().map(|g| (ParamId(i), n.as_str(), g)))
    }

    pub(crate) fn slot_mut(&mut self, id: ParamId) -> &mut Option<Tensor<T>> {
        &mut self.slots[id.0]
    }
}
