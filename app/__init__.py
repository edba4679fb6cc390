"""Handwritten digit recognizer: Tkinter app and command line on onnxruntime.

Imports only the standard library, numpy, Pillow and onnxruntime; never the
training stack. Importing any module here has no side effects.
"""

__version__ = "1.1.0"
