# 002_d50056cc170183d7, cell [11]: save the model as .h5, load it, evaluate again.
# Save the model
model.save('cifar10_classifier.h5')

# Load the model
loaded_model = tf.keras.models.load_model('cifar10_classifier.h5')

# Evaluate the loaded model
test_loss, test_acc = loaded_model.evaluate(X_test, y_test)
print(f'Test accuracy after loading the model: {test_acc:.4f}')
