"""The three CNNs of the brief, as pure builders `() -> keras.Model`, registered in MODELS.

All take float32 (28, 28, 1) in [0, 1] and end in an 11-way softmax: the ten digits, then "not a digit". Sizes are chosen for a 2-core CPU:
one narrow convolution at full 28x28 resolution, the wider ones after pooling.
"""
from __future__ import annotations

import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 11  # digits 0-9 and "not a digit" (training.pen_data.NOT_A_DIGIT)


def baseline() -> keras.Model:
    """Three conv layers, each followed by max-pooling, then dense layers (the brief's baseline)."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)                      # 14x14
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                      # 7x7
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                      # 3x3
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="baseline")


def improved() -> keras.Model:
    """Four conv layers mixing 5x5 and 3x3 filters, dropout before the head; trained with augmentation.

    No BatchNorm: measured on MNIST plus pen data, its moving statistics made the validation accuracy
    swing between 87 % and 95 % from one epoch to the next (baseline, without it, rose steadily).
    No dropout between the conv blocks: with it the model under-fitted (its augmented training accuracy
    stayed below validation for 14 epochs) and it cost a quarter of the step time, spent on epochs now.
    """
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)                      # 14x14
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                      # 7x7
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                      # 3x3
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="improved")


def simplified() -> keras.Model:
    """Two conv layers (fewer than the baseline), each followed by max-pooling, then a small dense head."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = layers.Conv2D(16, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)                      # 14x14
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                      # 7x7
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="simplified")


MODELS = {
    "baseline": baseline,
    "improved": improved,
    "simplified": simplified,
}


def sequence_reader() -> keras.Model:
    """The number reader (app.strip): a 28-row strip of any width -> per-frame logits, one frame per
    2 columns, over CTC's blank, the ten digits and "not a digit". Not in MODELS: it reads rows of
    digits, not one digit. About 280k weights (1.1 MB), small beside the executable's 45 MB budget.
    The 7-row convolution sees a column's whole height; the residual dilated 1-D ones (1, 2, 4, 8)
    about two digits either side (against one for the 113k-weight network before it, which held-out
    rows read 82.8 % exactly against 85.5 %); a frame per 2 columns leaves room for the blank that
    parts two touching 1s."""
    from app.strip import CLASSES, HEIGHT, INPUT_NAME

    inputs = keras.Input((HEIGHT, None, 1), name=INPUT_NAME)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)                      # 14 rows, 1/2 the columns
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D((2, 1))(x)                # 7 rows
    x = layers.Conv2D(128, (7, 1), activation="relu")(x)  # 1 row
    x = layers.Reshape((-1, 128))(x)
    for dilation in (1, 2, 4, 8):
        x = layers.Add()([x, layers.Conv1D(128, 3, padding="same", dilation_rate=dilation, activation="relu")(x)])
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(inputs, outputs, name="sequence_reader")


def trajectory_reader() -> keras.Model:
    """The stroke reader (app.trajectory): a drawn digit's path, POINTS points x CHANNELS, -> the same
    11-way softmax as the digit models. Not in MODELS: it reads strokes, not images. 1-D convolutions
    along the path see a few points either side; max and mean over the path make it order-aware but
    place-free. About 180k weights (0.7 MB): small beside the digit model, quick on 2 cores."""
    from app.trajectory import CHANNELS, INPUT_NAME, OUTPUT_NAME, POINTS

    inputs = keras.Input((POINTS, CHANNELS), name=INPUT_NAME)
    x = layers.Conv1D(64, 5, padding="same", activation="relu")(inputs)
    x = layers.Conv1D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling1D()(x)                      # 32 points
    x = layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling1D()(x)                      # 16 points
    x = layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = layers.Concatenate()([layers.GlobalMaxPooling1D()(x), layers.GlobalAveragePooling1D()(x)])
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="trajectory_reader")
