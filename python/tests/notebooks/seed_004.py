# imports
from __future__ import print_function
import nabla.keras as keras
from nabla.keras import utils as np_utils
import nabla as tensorflow
from nabla.keras.datasets import mnist
from nabla.keras.models import Sequential
from nabla.keras.layers import Dense, Dropout, Flatten
from nabla.keras.layers import Conv2D, MaxPooling2D
from nabla.keras import backend as K
import nabla as tf
from matplotlib import pyplot as plt

# 004_586704af337f9bfc: MNIST 64-64 SGD, 500-300 with L2, L2 sweep with replicates, the CNN.
# (The notebook's first cell, `pip install tensorflow`, is a shell command and is left out.)

# Hyper-parameters data-loading and formatting

batch_size = 128
num_classes = 10
epochs = 10

img_rows, img_cols = 28, 28

(x_train, lbl_train), (x_test, lbl_test) = mnist.load_data()

if K.image_data_format() == 'channels_first':
    x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
    x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
    input_shape = (1, img_rows, img_cols)
else:
    x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
    x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
    input_shape = (img_rows, img_cols, 1)

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255

y_train = keras.utils.np_utils.to_categorical(lbl_train, num_classes)
y_test = keras.utils.np_utils.to_categorical(lbl_test, num_classes)

# Define model
model = Sequential()
model.add(Flatten())
model.add(Dense(64, activation='relu'))
model.add(Dense(64, activation='relu'))
model.add(Dense(num_classes, activation='softmax'))

# Compile the model
model.compile(
    loss=keras.losses.categorical_crossentropy,
    optimizer= tensorflow.keras.optimizers.SGD(learning_rate=0.1),
    metrics=['accuracy']
)

# Train the model and record history
fit_info = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    verbose=1,
    validation_data=(x_test, y_test)
)

# Plot the training and validation accuracy
plt.plot(fit_info.history['accuracy'], label='Training Accuracy')
plt.plot(fit_info.history['val_accuracy'], label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend(loc='lower right')
plt.show()

# Evaluate the model on the test set
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss: {}, Test accuracy {}'.format(score[0], score[1]))

from nabla.keras.regularizers import l2

# Define the updated model with L2 weight decay regularization
model = Sequential()
model.add(Flatten())
model.add(Dense(500, activation='relu', kernel_regularizer=l2(0.0001)))
model.add(Dense(300, activation='relu', kernel_regularizer=l2(0.0001)))
model.add(Dense(num_classes, activation='softmax'))

# Compile the model
model.compile(
    loss=keras.losses.categorical_crossentropy,
    optimizer= tensorflow.keras.optimizers.SGD(learning_rate=0.1),
    metrics=['accuracy']
)

# Train the model for 40 epochs and record history
fit_info = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=40, # Train for 40 epochs
    verbose=1,
    validation_data=(x_test, y_test)
)

# Plot the training and validation accuracy
plt.plot(fit_info.history['accuracy'], label='Training Accuracy')
plt.plot(fit_info.history['val_accuracy'], label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend(loc='lower right')
plt.show()

# Evaluate the model on the test set
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss: {}, Test accuracy {}'.format(score[0], score[1]))

import numpy as np

# Define the selected regularization factors
regularization_factors = [1e-6, 1e-5, 1e-4, 5e-4, 1e-3]

# Initialize lists to store validation accuracies for each replicate
validation_accuracies = []

# Number of replicates for each regularization factor
num_replicates = 3

for reg_factor in regularization_factors:
    replicate_accuracies = []
    for _ in range(num_replicates):
        # Define the model with L2 weight decay regularization
        model = Sequential()
        model.add(Flatten())
        model.add(Dense(500, activation='relu', kernel_regularizer=l2(reg_factor)))
        model.add(Dense(300, activation='relu', kernel_regularizer=l2(reg_factor)))
        model.add(Dense(num_classes, activation='softmax'))

        # Compile the model
        model.compile(
            loss=keras.losses.categorical_crossentropy,
            optimizer=tensorflow.keras.optimizers.SGD(learning_rate=0.1),
            metrics=['accuracy']
        )

        # Train the model for 40 epochs
        fit_info = model.fit(
            x_train,
            y_train,
            batch_size=batch_size,
            epochs=40,
            verbose=0,
            validation_data=(x_test, y_test)
        )

        # Get the final validation accuracy for this replicate
        final_val_accuracy = fit_info.history['val_accuracy'][-1]
        replicate_accuracies.append(final_val_accuracy)

    validation_accuracies.append(replicate_accuracies)

# Plot the final validation accuracy with standard deviation
plt.errorbar(regularization_factors, np.mean(validation_accuracies, axis=1), yerr=np.std(validation_accuracies, axis=1))
plt.title('Validation Accuracy vs. Regularization Factor')
plt.xlabel('Regularization Factor')
plt.ylabel('Validation Accuracy')
plt.xscale('log')
plt.show()

from nabla.keras.optimizers import Adam

model = Sequential()

# Convolutional Layer 1: 32 filters, 3x3 kernel, ReLU activation
model.add(Conv2D(32, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))

# Max Pooling Layer 1: 2x2 pool size
model.add(MaxPooling2D(pool_size=(2, 2)))

# Convolutional Layer 2: 64 filters, 3x3 kernel, ReLU activation
model.add(Conv2D(64, (3, 3), activation='relu'))

# Max Pooling Layer 2: 2x2 pool size
model.add(MaxPooling2D(pool_size=(2, 2)))

# Flatten the feature maps
model.add(Flatten())

# Fully Connected Layer 1: 128 neurons, ReLU activation
model.add(Dense(128, activation='relu'))

# Dropout Layer
model.add(Dropout(0.5))

# Output Layer: 10 neurons, softmax activation
model.add(Dense(10, activation='softmax'))

# Compile the model
model.compile(
    loss='categorical_crossentropy',
    optimizer=Adam(learning_rate=0.001),
    metrics=['accuracy']
)

# Train the model
fit_info = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=10,
    verbose=1,
    validation_data=(x_test, y_test)
)

# Plot the training and validation accuracy
plt.plot(fit_info.history['accuracy'], label='Training Accuracy')
plt.plot(fit_info.history['val_accuracy'], label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend(loc='lower right')
plt.show()
