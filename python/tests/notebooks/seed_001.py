# 001_2e55c0b31b1bd102: from-scratch 2-3-1 backprop; MNIST 128-64-10 with grids.
import numpy as np
import matplotlib.pyplot as plt
import pprint
pp = pprint.PrettyPrinter(indent=4)
import warnings
warnings.filterwarnings("ignore")

from sklearn.model_selection import train_test_split
import nabla.keras as keras
import pandas as pd

np.random.seed(0) # don't change this

weights = {
    'W1': np.random.randn(3, 2),
    'b1': np.zeros(3),
    'W2': np.random.randn(3),
    'b2': 0,
}
X = np.random.rand(1000, 2)
Y = np.random.randint(low=0, high=2, size=(1000,))

#Sigmoid Function
def sigmoid(z):
    return 1/(1 + np.exp(-z))

#Implement the forward pass
def forward_propagation(X, weights):
    # Z1 -> output of the hidden layer before applying activation
    # H -> output of the hidden layer after applying activation
    # Z2 -> output of the final layer before applying activation
    # Y -> output of the final layer after applying activation

    Z1 = np.dot(X, weights['W1'].T) + weights['b1']
    H = sigmoid(Z1)

    Z2 = np.dot(H, weights['W2'].T) + weights['b2']
    Y = sigmoid(Z2)

    return Y, Z2, H, Z1

# Implement the backward pass
# Y_T are the ground truth labels
def back_propagation(X, Y_T, weights):
    N_points = X.shape[0]

    # forward propagation
    Y, Z2, H, Z1 = forward_propagation(X, weights)
    L = (1/(2*N_points)) * np.sum(np.square(Y - Y_T))

    # back propagation
    dLdY = 1/N_points * (Y - Y_T)
    dLdZ2 = np.multiply(dLdY, (sigmoid(Z2)*(1-sigmoid(Z2))))
    dLdW2 = np.dot(H.T, dLdZ2)

    dLdb2 = np.sum(dLdZ2, axis = 0)
    dldH = np.dot(dLdZ2.reshape(-1,1), weights['W2'].reshape(1,-1))
    dldZ1 = np.multiply(dldH, (sigmoid(Z1)*(1-sigmoid(Z1))))
    dLdW1 = np.dot(dldZ1.T, X)
    dLdb1 = np.sum(dldZ1, axis = 0)

    gradients = {
        'W1': dLdW1,
        'b1': dLdb1,
        'W2': dLdW2,
        'b2': dLdb2,
    }

    return gradients, L

gradients, L = back_propagation(X, Y, weights)
print(L)

pp.pprint(gradients)

from nabla.keras.datasets import mnist

# The MNIST dataset and the labels have been provided for you
(x_dev, y_dev), (x_test, y_test) = mnist.load_data()

LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

fig, ax = plt.subplots(10,5, figsize = (8,15))

for class_id in range(len(LABELS)):
    class_i = (y_dev == class_id).nonzero()[0]
    sample_i = class_i[:5]

    for i, sample_id in enumerate(sample_i):
        img = x_dev[sample_id]
        lbl = y_dev[sample_id]

        ax[class_id][i].imshow(img, cmap = 'gray')
        ax[class_id][i].axis('off')
        ax[class_id][i].set_title(str(lbl))

fig.subplots_adjust(hspace = 0.5)
plt.show()

print("X_dev shape:", x_dev.shape, "X_test shape:", x_test.shape)
print("Y_dev shape:", y_dev.shape, "Y_test shape:", y_test.shape)

x_test1 = x_test
y_test1 = y_test

x_dev = x_dev.reshape(4000, 784)
x_dev = x_dev.astype('float32')

x_test = x_test.reshape(1000, 784)
x_test = x_test.astype('float32')

print("X_dev shape after reshaping:", x_dev.shape)
print("X_test shape after reshaping:", x_test.shape)

x_dev = x_dev / 255.0
y_dev = keras.utils.to_categorical(y_dev, num_classes=10)

x_test = x_test / 255.0
y_test = keras.utils.to_categorical(y_test, num_classes=10)

x_train, x_val, y_train, y_val = train_test_split(x_dev, y_dev, test_size=0.1, random_state=42)

model = keras.Sequential([keras.layers.Dense(128, input_shape = (784,)),
                                   keras.layers.Dense(64, activation='relu'),
                                   keras.layers.Dense(10, activation='softmax')
                                   ])

model.summary()

model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

history_callback = model.fit(x_train, y_train, epochs = 10, batch_size = 128, validation_data = (x_val, y_val))

hist = pd.DataFrame(history_callback.history)
fig,ax = plt.subplots(2,1)
ax[0].plot(hist.index, hist['loss'], color = 'green', label = 'Training Loss')
ax[0].plot(hist.index, hist['val_loss'], color = 'red', label='Validation Loss')
ax[0].set_xlabel('Epochs')
ax[0].set_ylabel('Loss')
ax[0].legend()
ax[0].set_title("Training and Validation Loss")

ax[1].plot(hist.index, hist['accuracy'],color = 'orange', linestyle='--')
ax[1].plot(hist.index, hist['val_accuracy'],color = 'black', linestyle='--')
ax[1].set_xlabel('Epochs')
ax[1].set_ylabel('Accuracy')
ax[1].legend()
ax[1].set_title("Training and Validation Accuracy")

fig.tight_layout()
fig.subplots_adjust(hspace=0.5)
plt.show()

test_loss, test_acc = model.evaluate(x_test, y_test)
print('Test accuracy:', test_acc)

y_prob = model.predict(x_test)
y_pred = y_prob.argmax(axis=-1)

fig, ax = plt.subplots(5, 10, figsize=(8, 15))
for i in range(50):
    plt.subplot(10, 5, i+1)
    plt.imshow(x_test1[i], cmap='gray')
    plt.xlabel("GT: " + LABELS[y_test1[i]] + "\n" + "P: " + LABELS[y_pred[i]])
    plt.xticks([])
    plt.yticks([])
fig.tight_layout()
fig.subplots_adjust(hspace=0.5)
plt.show()
