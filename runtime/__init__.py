"""The QGIS-side services the algorithms run on: the worker process and its Python, the plugin's settings, its
translations and the PyTorch environment setup. Below the algorithms; provider/ (the registry) sits above them."""
