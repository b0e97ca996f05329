# 002_d50056cc170183d7: CIFAR-10 MLP: activations, MSE vs cross-entropy, optimizers,
# confusion matrix, classification report. (The .h5 save/load cell is seed_002_save.py.)
# Import required libraries
import nabla as tf
from nabla.keras.datasets import cifar10
from nabla.keras.utils import to_categorical
from sklearn.model_selection import train_test_split
import matplotlib.pyplot as plt

# Load the CIFAR-10 dataset
(X_train, y_train), (X_test, y_test) = cifar10.load_data()

# Normalize the pixel values to the range between 0 and 1
X_train = X_train.astype('float32') / 255.0
X_test = X_test.astype('float32') / 255.0

# Convert class labels to one-hot encoding
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

# Split the training data into training and validation sets
X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=42)

# Visualize a few CIFAR-10 images with their labels
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def plot_sample_images(X, y, class_names):
    plt.figure(figsize=(10, 10))
    for i in range(9):
        plt.subplot(3, 3, i+1)
        plt.imshow(X[i])
        plt.title(class_names[y[i].argmax()])
        plt.axis('off')
    plt.show()

plot_sample_images(X_train, y_train, class_names)

import nabla as tensorflow

# Build the neural network model
from nabla.keras.models import Sequential
from nabla.keras.layers import Dense, Flatten, Dropout

model = Sequential()

# Input layer (flattening the 32x32x3 images into 1D array)
model.add(Flatten(input_shape=(32, 32, 3)))

# Hidden layers
model.add(Dense(512, activation='relu'))
model.add(Dropout(0.5)) # Dropout to prevent overfitting
model.add(Dense(256, activation='relu'))
model.add(Dropout(0.5))

# Output layer (10 classes with softmax activation)
model.add(Dense(10, activation='softmax'))

# Compile the model
model.compile(optimizer='adam', loss='categorical_crossentropy',
              metrics=['accuracy'])

# Print model summary
model.summary()

import numpy as np
import matplotlib.pyplot as plt
from nabla.keras import datasets

# Load CIFAR-10 dataset
(train_images, _), (_, _) = datasets.cifar10.load_data()

# Select a random sample of 1000 flattened input pixels for visualization
sample_images = train_images[:1000].reshape(1000, -1)
sample_pixels = sample_images[0] # Use the first image for plotting

# Define the ReLU and Sigmoid activation functions
def relu(x):
    return np.maximum(0, x)

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

# Apply ReLU and Sigmoid to the sample pixels
relu_output = relu(sample_pixels)
sigmoid_output = sigmoid(sample_pixels)

# Plot ReLU activation
plt.figure(figsize=(12, 6))
plt.subplot(1, 2, 1)
plt.plot(sample_pixels, relu_output, 'b.', alpha=0.5)
plt.title('ReLU Activation Function')
plt.xlabel('Input Pixel Value')
plt.ylabel('ReLU Output')

# Plot Sigmoid activation
plt.subplot(1, 2, 2)
plt.plot(sample_pixels, sigmoid_output, 'r.', alpha=0.5)
plt.title('Sigmoid Activation Function')
plt.xlabel('Input Pixel Value')
plt.ylabel('Sigmoid Output')

plt.tight_layout()
plt.show()

# Using a second loss function - Mean Squared Error (MSE)
model.compile(optimizer='adam', loss='mean_squared_error', metrics=['accuracy'])

# Re-train the model with MSE loss
history_mse = model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val), batch_size=64, verbose=2)

# Compare with categorical cross-entropy loss
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
history_cross_entropy = model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val), batch_size=64, verbose=2)

# Train the model with categorical cross-entropy loss
history = model.fit(X_train, y_train, epochs=50, validation_data=(X_val, y_val), batch_size=64, verbose=2)

# Plot training & validation accuracy and loss
def plot_training_history(history):
    plt.figure(figsize=(12, 4))

    # Accuracy
    plt.subplot(1, 2, 1)
    plt.plot(history.history['accuracy'], label='train accuracy')
    plt.plot(history.history['val_accuracy'], label='validation accuracy')
    plt.title('Accuracy')
    plt.legend()

    # Loss
    plt.subplot(1, 2, 2)
    plt.plot(history.history['loss'], label='train loss')
    plt.plot(history.history['val_loss'], label='validation loss')
    plt.title('Loss')
    plt.legend()

    plt.show()

plot_training_history(history)

from sklearn.metrics import confusion_matrix, classification_report
import seaborn as sns

# Evaluate the model on the test set
test_loss, test_acc = model.evaluate(X_test, y_test)

# Predictions
y_pred = model.predict(X_test)
y_pred_classes = np.argmax(y_pred, axis=1)
y_true = np.argmax(y_test, axis=1)

# Confusion Matrix
conf_matrix = confusion_matrix(y_true, y_pred_classes)

# Plot Confusion Matrix
plt.figure(figsize=(10, 8))
sns.heatmap(conf_matrix, annot=True, fmt='d', cmap='Blues',
            xticklabels=class_names, yticklabels=class_names)
plt.title('Confusion Matrix')
plt.ylabel('True Class')
plt.xlabel('Predicted Class')
plt.show()

# Classification Report
print(classification_report(y_true, y_pred_classes, target_names=class_names))

# Train models using different optimizers
def compile_and_train(optimizer, optimizer_name):
    model.compile(optimizer=optimizer, loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val), batch_size=64, verbose=2)
    plt.plot(history.history['val_accuracy'], label=f'{optimizer_name} validation accuracy')

# Adam optimizer
compile_and_train('adam', 'Adam')

# SGD optimizer
compile_and_train(tf.keras.optimizers.SGD(), 'SGD')

# RMSprop optimizer
compile_and_train('rmsprop', 'RMSprop')

# Plot the comparison of optimizers
plt.title('Validation Accuracy Comparison: Adam vs SGD vs RMSprop')
plt.xlabel('Epochs')
plt.ylabel('Validation Accuracy')
plt.legend()
plt.show()
