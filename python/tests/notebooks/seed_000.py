# 000_24ee696f1f21c368: MNIST 784-128-10, then per-layer gradients with GradientTape.
import numpy as np
import nabla as tf
from nabla.keras.models import Sequential
from nabla.keras.layers import Dense, Flatten
from nabla.keras.optimizers import Adam
from nabla.keras.losses import CategoricalCrossentropy
from nabla.keras.datasets import mnist
from nabla.keras.utils import to_categorical

(x_train, y_train), (x_test, y_test) = mnist.load_data()

x_train = x_train.astype('float32') / 255.0
x_test = x_test.astype('float32') / 255.0

y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)
model = Sequential()

model.add(Flatten(input_shape=(28, 28)))

model.add(Dense(128, activation='relu'))

model.add(Dense(10, activation='softmax'))

model.compile(optimizer=Adam(),
              loss=CategoricalCrossentropy(),
              metrics=['accuracy'])

history = model.fit(x_train, y_train, validation_data=(x_test, y_test),
                    epochs=10, batch_size=32)

loss = history.history['loss']
val_loss = history.history['val_loss']
accuracy = history.history['accuracy']
val_accuracy = history.history['val_accuracy']

print("Final training loss:", loss[-1])
print("Final validation loss:", val_loss[-1])

import matplotlib.pyplot as plt

plt.figure(figsize=(12, 4))
plt.subplot(1, 2, 1)
plt.plot(history.history['loss'], label='Training Loss')
plt.plot(history.history['val_loss'], label='Validation Loss')
plt.title('Loss over Epochs')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()

plt.subplot(1, 2, 2)
plt.plot(history.history['accuracy'], label='Training Accuracy')
plt.plot(history.history['val_accuracy'], label='Validation Accuracy')
plt.title('Accuracy over Epochs')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend()

plt.show()

import numpy as np
import nabla as tf
import matplotlib.pyplot as plt

with tf.GradientTape() as tape:
    predictions = model(x_train[:32])
    loss_value = CategoricalCrossentropy()(y_train[:32], predictions)
grads = tape.gradient(loss_value, model.trainable_variables)

grad_means = []
grad_stds = []
layer_names = []

for var, grad in zip(model.trainable_variables, grads):
    grad_means.append(np.mean(grad))
    grad_stds.append(np.std(grad))
    layer_names.append(var.name)

plt.figure(figsize=(14, 6))

plt.subplot(1, 2, 1)
plt.barh(layer_names, grad_means)
plt.title('Gradient Means per Layer')
plt.xlabel('Mean')
plt.ylabel('Layer')
plt.grid(True)

plt.subplot(1, 2, 2)
plt.barh(layer_names, grad_stds)
plt.title('Gradient Standard Deviations per Layer')
plt.xlabel('Standard Deviation')
plt.ylabel('Layer')
plt.grid(True)

plt.tight_layout()
plt.show()
