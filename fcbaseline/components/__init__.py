"""The named parts a config chooses: each optimizer, schedule and callback with its typed schema, its
checks and its Keras builder side by side, in one registry per kind. Keras is imported only when a
builder runs, so composing and validating a config never starts TensorFlow."""
