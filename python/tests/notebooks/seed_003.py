# 003_dc6e6c7d6897a759: standardized CIFAR-10 MLP; LeNet-5, dropout CNN, batch-norm CNN.
import numpy as np
import matplotlib.pyplot as plt

from nabla.keras.datasets import cifar10 #Code to load data, do not change
(x_dev, y_dev), (x_test, y_test) = cifar10.load_data()
LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

#Your code here
class_indices = {i: [] for i in range(10)}
for i, label in enumerate(y_dev):
    class_indices[label[0]].append(i)

fig, axes = plt.subplots(10, 5, figsize=(12, 12))
for i in range(10):
    for j in range(5):
        idx = class_indices[i][j]
        axes[i, j].imshow(x_dev[idx])
        axes[i, j].set_title(LABELS[i])
        axes[i, j].axis('off')

plt.tight_layout()
plt.show()

#Your code here
print("Shapes before preprocessing:")
print("x_dev shape:", x_dev.shape)
print("y_dev shape:", y_dev.shape)
print("x_test shape:", x_test.shape)
print("y_test shape:", y_test.shape)

#Your code here
x_dev_flat = x_dev.reshape(x_dev.shape[0], -1)
x_test_flat = x_test.reshape(x_test.shape[0], -1)

print("\nShapes after flattening:")
print("x_dev shape (flattened):", x_dev_flat.shape)
print("x_test shape (flattened):", x_test_flat.shape)

from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler, OneHotEncoder

#Your code here
scaler = StandardScaler()
x_dev_scaled = scaler.fit_transform(x_dev_flat)
x_test_scaled = scaler.transform(x_test_flat)

#Your code here
encoder = OneHotEncoder(sparse_output=False)
y_dev_encoded = encoder.fit_transform(y_dev)
y_test_encoded = encoder.transform(y_test)

#Your code here
x_train, x_val, y_train, y_val = train_test_split(x_dev_scaled, y_dev_encoded, test_size=0.2, random_state=42)

print("\nShapes after train-test split:")
print("x_train shape:", x_train.shape)
print("y_train shape:", y_train.shape)
print("x_val shape:", x_val.shape)
print("y_val shape:", y_val.shape)

import nabla as tf
from nabla.keras.models import Sequential
from nabla.keras.layers import Dense, Flatten

#Your code here
input_size = x_train.shape[1]
first_layer_size = 128
hidden_layer_size = 64
output_size = y_train.shape[1]

# the model
model = tf.keras.models.Sequential([
    tf.keras.layers.Dense(first_layer_size, activation='relu', input_shape=(input_size,)),
    tf.keras.layers.Dense(hidden_layer_size, activation='relu'),
    tf.keras.layers.Dense(output_size, activation='softmax')
])

model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])

#Your code here
model.summary()

#Your comments here: Wrote in markdown above

#modify name of X_train based on your requirement
model.compile()
output = model.predict(x_train[0].reshape(1,-1))
print("Output: {:.2f}".format(sum(output[0])))

#Your code here
model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=20, validation_data=(x_val, y_val))
test_loss, test_accuracy = model.evaluate(x_test_scaled, y_test_encoded)
print("\nTest Loss:", test_loss)
print("Test Accuracy:", test_accuracy)

#Your code here
plt.figure(figsize=(10, 6))
plt.plot(history.history['loss'], label='Train Loss')
plt.plot(history.history['val_loss'], label='Validation Loss')
plt.title('Training and Validation Loss')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()
plt.show()

#Your code here
plt.figure(figsize=(10, 6))
plt.plot(history.history['accuracy'], label='Train Accuracy')
plt.plot(history.history['val_accuracy'], label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend()
plt.show()

#Your code here
print("Test Accuracy:", test_accuracy)

#Your code here
predictions = model.predict(x_test_scaled[:50])
predicted_classes = np.argmax(predictions, axis=1)

plt.figure(figsize=(15, 15))
for i in range(50):
    plt.subplot(10, 5, i + 1)
    plt.imshow(x_test[i])
    plt.title(f"GT: {LABELS[y_test[i][0]]}\nP: {LABELS[predicted_classes[i]]}")
    plt.axis('off')
plt.tight_layout()
plt.show()

from nabla.keras.models import Sequential
from nabla.keras.layers import Dense, Conv2D, MaxPool2D, Flatten
import pandas as pd
from nabla.keras.utils import to_categorical
from nabla.keras.datasets import cifar10

#Code to load the dataset - Do not change
(x_dev, y_dev), (x_test, y_test) = cifar10.load_data()
print("x_dev: {},y_dev: {},x_test: {},y_test: {}".format(x_dev.shape, y_dev.shape, x_test.shape, y_test.shape))
x_dev, x_test = x_dev.astype('float32'), x_test.astype('float32')
x_dev = x_dev/255.0
x_test = x_test/255.0
from sklearn.model_selection import train_test_split
X_train, X_val, y_train, y_val = train_test_split(x_dev, y_dev,test_size = 0.2, random_state = 42)

# OHE the labels for y
y_train = to_categorical(y_train, num_classes=10)
y_val = to_categorical(y_val, num_classes=10)
y_test = to_categorical(y_test, num_classes=10)

print("Shape of X_train:", X_train.shape)
print("Shape of X_val:", X_val.shape)
print("Shape of x_test:", x_test.shape)

print("Shape of y_train:", y_train.shape)
print("Shape of y_val:", y_val.shape)
print("Shape of y_test:", y_test.shape)

#Your code here
num_classes=10
cnn = Sequential()
#1
cnn.add(Conv2D(6, kernel_size=(5, 5), strides=(1, 1), padding='valid', activation='relu', input_shape=(32, 32, 3)))
# 2
cnn.add(MaxPool2D(pool_size=(2, 2)))
# 3
cnn.add(Conv2D(16, kernel_size=(5, 5), strides=(1, 1), padding='valid', activation='relu'))
# 4
cnn.add(MaxPool2D(pool_size=(2, 2)))
# 5
cnn.add(Flatten())
# 6
cnn.add(Dense(120, activation='relu'))
# 7
cnn.add(Dense(84, activation='relu'))
# 8
cnn.add(Dense(10, activation='softmax'))

cnn.compile(optimizer='adam', loss='categorical_crossentropy',
            metrics=['accuracy'])

#Your code here
cnn.summary()

history = cnn.fit(X_train, y_train, epochs=20, validation_data=(X_val, y_val))

# train vs. valid loss
plt.figure(figsize=(12, 6))
plt.subplot(1, 2, 1)
plt.plot(history.history['loss'], label='Train Loss')
plt.plot(history.history['val_loss'], label='Validation Loss')
plt.title('Training and Validation Loss')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()

# train vs. valid accuracy
plt.subplot(1, 2, 2)
plt.plot(history.history['accuracy'], label='Train Accuracy')
plt.plot(history.history['val_accuracy'], label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend()

plt.tight_layout()
plt.show()

# y_test_encoded = to_categorical(y_test, num_classes=10)

# y_test_encoded.shape

#Your code here
test_loss, test_accuracy = cnn.evaluate(x_test, y_test)
print("Test Loss:", test_loss)
print("Test Accuracy:", test_accuracy)

from nabla.keras.layers import Dropout, BatchNormalization, MaxPooling2D

#Your code here
cnn_dropout = Sequential([
    Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation='relu'),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation='relu'),
    Flatten(),
    Dropout(0.3),
    Dense(64, activation='relu'),
    Dense(10, activation='softmax')
])

cnn_dropout.compile(optimizer='adam',
                    loss='categorical_crossentropy',
                    metrics=['accuracy'])

cnn_dropout.summary()

dropout_history = cnn_dropout.fit(X_train, y_train, epochs=20, validation_data=(X_val, y_val))

#Your code here
# train vs val loss
plt.figure(figsize=(12, 6))
plt.subplot(1, 2, 1)
plt.plot(dropout_history.history['loss'], label='Train Loss')
plt.plot(dropout_history.history['val_loss'], label='Validation Loss')
plt.title('Dropout Training and Validation Loss')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()

# train vs val accuracy
plt.subplot(1, 2, 2)
plt.plot(dropout_history.history['accuracy'], label='Train Accuracy')
plt.plot(dropout_history.history['val_accuracy'], label='Validation Accuracy')
plt.title('Dropout Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend()

plt.tight_layout()
plt.show()

#Your code here
test_loss, test_accuracy = cnn_dropout.evaluate(x_test, y_test)
print("Test Loss:", test_loss)
print("Test Accuracy:", test_accuracy)

#Your code here
cnn_bn = Sequential([
    Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
    BatchNormalization(),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation='relu'),
    BatchNormalization(),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation='relu'),
    BatchNormalization(),
    Flatten(),
    Dense(64, activation='relu'),
    BatchNormalization(),
    Dense(10, activation='softmax')
])

cnn_bn.compile(optimizer='adam',
               loss='categorical_crossentropy',
               metrics=['accuracy'])

cnn_bn.summary()

#Your code here
bn_history = cnn_bn.fit(X_train, y_train, epochs=20, validation_data=(X_val, y_val))

# train vs val loss
plt.figure(figsize=(12, 6))
plt.subplot(1, 2, 1)
plt.plot(bn_history.history['loss'], label='Train Loss')
plt.plot(bn_history.history['val_loss'], label='Validation Loss')
plt.title('Batch Norm Training and Validation Loss')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()

# train vs val accuracy
plt.subplot(1, 2, 2)
plt.plot(bn_history.history['accuracy'], label='Train Accuracy')
plt.plot(bn_history.history['val_accuracy'], label='Validation Accuracy')
plt.title('Batch Norm Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend()

plt.tight_layout()
plt.show()

test_loss, test_accuracy = cnn_bn.evaluate(x_test, y_test)
print("Test Loss:", test_loss)
print("Test Accuracy:", test_accuracy)
